/**
 * The no-op fast path (src/cli/fast-noop.ts) answers an up-to-date `pipe run` from a stat snapshot. It must
 * never answer when anything a stage read or wrote changed, and never vouch for what a stat cannot see.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { makeProject, ok, stageEvents, statuses, summary, type PipeResult, type TestProject } from '../helpers/pipe-project.js';

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

/** The run was answered from the snapshot, without loading the engine. */
const fast = (r: PipeResult) => summary(r)?.fast === true;

async function upToDateWithSnapshot(p: TestProject): Promise<void> {
  ok(await p.run());
  await settle();
  // every file is old enough now: this run finds everything up to date and writes the snapshot
  const engine = ok(await p.run());
  expect(Object.values(statuses(engine))).toEqual(['skipped', 'skipped']);
  expect(fast(engine)).toBe(false);
  expect(snapshots(p)).toHaveLength(1);
  // and the next one is answered from it
  expect(fast(ok(await p.run()))).toBe(true);
}

/** Once nothing moves any more, the fast path answers again: a test's `fast === false` is not vacuous. */
async function answeredFastOnceSettled(p: TestProject): Promise<void> {
  // a loaded machine may stretch a run past the racy window: a few settled runs, one of which answers fast
  let answered = false;
  for (let attempt = 0; attempt < 4 && !answered; attempt++) {
    await settle();
    answered = fast(ok(await p.run()));
  }
  expect(answered).toBe(true);
}

test('an up-to-date run leaves a snapshot and the next one answers from it', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  const r = ok(await project.run());
  expect(fast(r)).toBe(true);
  expect(statuses(r)).toEqual({ upper: 'skipped', count: 'skipped' });
  expect(summary(r)).toMatchObject({ ran: 0, skipped: 2, restored: 0, failed: 0 });
  expect(project.lines('ran.log')).toEqual(['upper', 'count']);
  const plain = ok(await project.pipe(['run'], { json: false }));
  expect(plain.stderr).toMatch(/0 ran, 2 up to date/);
});

test('a content edit right after the snapshot is never answered from it', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  project.write('in.txt', 'world\n'); // same size: only the stat (mtime, ctime) tells
  const r = ok(await project.run());
  expect(fast(r)).toBe(false);
  expect(stageEvents(r).upper?.status).toBe('ran');
  expect(project.read('out/upper.txt')).toBe('WORLD\n');
});

test('a deleted output is restored, not answered from the snapshot', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  rmSync(project.path('out/count.txt'));
  const r = ok(await project.run());
  expect(fast(r)).toBe(false);
  expect(stageEvents(r).count?.status).toBe('restored');
  expect(project.exists('out/count.txt')).toBe(true);
});

test('a run that changes things drops the snapshots; options that change the run bypass them', async () => {
  project = makeProject(PIPELINE, { 'in.txt': 'hello\n' });
  await upToDateWithSnapshot(project);
  const forced = ok(await project.run('--force', 'upper'));
  expect(fast(forced)).toBe(false);
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
  plain:
    cmd: "cat data/a.txt > plain.txt"
    deps: [data/a.txt]
    outs: [plain.txt]
`, { 'data/a.txt': 'a\n' });
  ok(await project.run());
  await settle();
  ok(await project.run('cat'));
  expect(snapshots(project)).toHaveLength(0);
  // the stage without a glob, alone, is answered from its snapshot
  ok(await project.run('plain'));
  expect(fast(ok(await project.run('plain')))).toBe(true);
  expect(fast(ok(await project.run('cat')))).toBe(false);
  project.write('data/b.txt', 'b\n');
  const r = ok(await project.run('cat'));
  expect(fast(r)).toBe(false);
  expect(stageEvents(r).cat?.status).toBe('ran');
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

/**
 * A file edited after the run hashed it, while the run goes on: the stage's own command edits it once, then
 * waits out the racy window so that a fresh stat at the end of the run would look old enough to vouch for.
 * The next run must not be answered from a snapshot, and `status` and `run` must agree that it is stale.
 */
const EDIT_ONCE = (edit: string) => `if [ ! -e edited ]; then ${edit}; touch edited; sleep 0.3; fi`;

describe.concurrent('an edit during the run leaves no snapshot that vouches for it', () => {
  test.each([
    { what: 'a file dep', deps: 'in.txt', read: 'cat in.txt', edit: 'echo v3 > in.txt', expected: 'v3\n' },
    { what: 'a file in a folder dep', deps: 'data', read: 'cat data/a.txt data/sub/b.txt', edit: 'echo B3 > data/sub/b.txt', expected: 'a\nB3\n' },
    { what: 'a new file in a folder dep', deps: 'data', read: 'cat data/a.txt data/sub/*', edit: 'echo C > data/sub/c.txt', expected: 'a\nb\nC\n' },
  ])('$what', async ({ deps, read, edit, expected }) => {
    const p = makeProject(`version: 1
stages:
  copy:
    cmd: [sh, -c, "${read} > out.txt; ${EDIT_ONCE(edit)}"]
    deps: [${deps}]
    outs: [out.txt]
`, { 'in.txt': 'v2\n', 'data/a.txt': 'a\n', 'data/sub/b.txt': 'b\n' });
    try {
      expect(stageEvents(ok(await p.run())).copy?.status).toBe('ran');
      const status = JSON.parse(ok(await p.pipe(['status', '--json'])).stdout) as { stages: { name: string; state: string }[] };
      expect(status.stages.find((s) => s.name === 'copy')?.state).toBe('stale');
      const next = ok(await p.run());
      expect(fast(next)).toBe(false);
      expect(stageEvents(next).copy?.status).toBe('ran');
      expect(p.read('out.txt')).toBe(expected);
      await answeredFastOnceSettled(p);
    } finally {
      p.remove();
    }
  });

  test.each([
    { what: 'the pipeline file', edit: 'sed -i s/v1/v2/ pipeline.yaml', expected: 'v2 v1\n' },
    { what: 'a file it imports', edit: 'echo \\\"{word: v2}\\\" > vars.yaml', expected: 'v1 v2\n' },
  ])('$what, edited by the stage', async ({ edit, expected }) => {
    const p = makeProject(`version: 1
imports: {vars: vars.yaml}
stages:
  say:
    cmd: [sh, -c, "echo v1 \${vars.word} > out.txt; ${EDIT_ONCE(edit)}"]
    outs: [out.txt]
`, { 'vars.yaml': '{word: v1}\n' });
    try {
      ok(await p.run());
      const next = ok(await p.run());
      expect(fast(next)).toBe(false);
      expect(stageEvents(next).say?.status).toBe('ran');
      expect(p.read('out.txt')).toBe(expected);
      await answeredFastOnceSettled(p);
    } finally {
      p.remove();
    }
  });

  test("an output changed by a later stage", async () => {
    const p = makeProject(`version: 1
stages:
  make:
    cmd: [sh, -c, "echo made > a.txt"]
    outs: [a.txt]
  use:
    cmd: [sh, -c, "cat a.txt > b.txt; ${EDIT_ONCE('echo tampered >> a.txt')}"]
    deps: [a.txt]
    outs: [b.txt]
`);
    try {
      ok(await p.run());
      const status = JSON.parse(ok(await p.pipe(['status', '--json'])).stdout) as { stages: { name: string; state: string }[] };
      expect(status.stages.find((s) => s.name === 'make')?.state).toBe('stale');
      const next = ok(await p.run());
      expect(fast(next)).toBe(false);
      expect(stageEvents(next).make?.status).toBe('restored');
      expect(p.read('a.txt')).toBe('made\n');
      await answeredFastOnceSettled(p);
    } finally {
      p.remove();
    }
  });
});
