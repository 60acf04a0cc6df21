/**
 * The no-op fast path (src/cli/fast-noop.ts) answers an up-to-date `pipe run` from a stat snapshot. It must
 * never answer when anything a stage read or wrote changed, and never vouch for what a stat cannot see.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { makeProject, ok, stageEvents, statuses, type TestProject } from '../helpers/pipe-project.js';

let project: TestProject | undefined;
afterEach(() => project?.remove());

const PIPELINE = `version: 1
stages:
  upper:
    cmd: [sh, -c, "tr a-z A-Z < in.txt > out/upper.txt; echo upper >> ran.log"]
    deps: [in.txt]
    outs: [out/upper.txt]
  count:
    cmd: [sh, -c, "wc -c < out/upper.txt > out/count.txt; echo count >> ran.log"]
    deps: [out/upper.txt]
    outs: [out/count.txt]
`;

const snapshots = (p: TestProject) => {
  try {
    return readdirSync(p.path('.pipe/noop'));
  } catch {
    return [];
  }
};

/** Waits out the racy window (100 ms here): a snapshot never vouches for a file changed within it. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function upToDateWithSnapshot(p: TestProject): Promise<void> {
  ok(await p.run());
  await settle();
  // every file is old enough now: this run finds everything up to date and writes the snapshot
  expect(Object.values(statuses(ok(await p.run())))).toEqual(['skipped', 'skipped']);
  expect(snapshots(p)).toHaveLength(1);
}

test('an up-to-date run leaves a snapshot and the next one answers from it', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  const r = ok(await project.run());
  expect(statuses(r)).toEqual({ upper: 'skipped', count: 'skipped' });
  expect(project.lines('ran.log')).toEqual(['upper', 'count']);
});

test('a content edit right after the snapshot is never answered from it', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  project.write('in.txt', 'world\n'); // same size: only the stat (mtime, ctime) tells
  const r = ok(await project.run());
  expect(stageEvents(r).upper?.status).toBe('ran');
  expect(project.read('out/upper.txt')).toBe('WORLD\n');
});

test('a deleted output is restored, not answered from the snapshot', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  rmSync(project.path('out/count.txt'));
  expect(stageEvents(ok(await project.run())).count?.status).toBe('restored');
  expect(project.exists('out/count.txt')).toBe(true);
});

test('a run that changes things drops the snapshots; options that change the run bypass them', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  const forced = ok(await project.run('--force', 'upper'));
  expect(stageEvents(forced).upper?.status).toBe('ran');
  expect(snapshots(project)).toHaveLength(0);
});

test('no snapshot when a stage has a glob dep (a new file must be seen)', async () => {
  project = makeProject(`version: 1
stages:
  cat:
    cmd: "cat data/*.txt > all.txt"
    deps: ["data/*.txt"]
    outs: [all.txt]
`, { 'data/a.txt': 'a\n' });
  ok(await project.run());
  await settle();
  ok(await project.run());
  expect(snapshots(project)).toHaveLength(0);
  project.write('data/b.txt', 'b\n');
  expect(stageEvents(ok(await project.run())).cat?.status).toBe('ran');
  expect(project.read('all.txt')).toBe('a\nb\n');
});

test('the lock of a running pipe bypasses the snapshot', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  project.write(path.join('.pipe', 'lock'), JSON.stringify({ pid: process.pid, host: 'elsewhere', started: '', command: 'pipe run' }));
  const waiting = project.start(['run'], { timeoutMs: 1500 });
  const result = await waiting;
  // a lock of another host is never broken: the run waits (and the test's timeout ends it) rather than answer
  expect(result.exitCode).not.toBe(0);
});
