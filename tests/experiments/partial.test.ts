/**
 * Running part of the graph through the bundled CLI: --until (Snakemake), --from, --downstream (DVC), on run,
 * run -n and status; unknown names; and `always_changed: true` (runs every time, cut off early downstream).
 * Each stage appends its name to ran.log, so what ran is read from the side channel, not from pipe's own words.
 */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents, statuses, summary, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
/** Waits out the no-op fast path's racy window (100 ms): only then may it answer at all. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** a -> b -> c -> d, and side (on its own) */
const CHAIN = `version: 1
stages:
  a: {cmd: "echo a >> ran.log && cat in.txt > a.txt", deps: [in.txt], outs: [a.txt]}
  b: {cmd: "echo b >> ran.log && cat a.txt > b.txt", deps: [a.txt], outs: [b.txt]}
  c: {cmd: "echo c >> ran.log && cat b.txt > c.txt", deps: [b.txt], outs: [c.txt]}
  d: {cmd: "echo d >> ran.log && cat c.txt > d.txt", deps: [c.txt], outs: [d.txt]}
  side: {cmd: "echo side >> ran.log && echo s > side.txt", outs: [side.txt]}
`;

function chain(): TestProject {
  return project(CHAIN, { 'in.txt': 'one\n' });
}

async function ranBy(p: TestProject, args: string[]): Promise<string[]> {
  const before = p.lines('ran.log').length;
  ok(await p.run(...args));
  return p.lines('ran.log').slice(before);
}

describe('--until, --from, --downstream', () => {
  test('--until STAGE runs it and what is upstream of it, nothing after it or beside it', async () => {
    const p = chain();
    expect(await ranBy(p, ['--until', 'b'])).toEqual(['a', 'b']);
    expect(p.exists('c.txt')).toBe(false);
    expect(Object.keys(stageEvents(ok(await p.run('-n', '--until', 'c'))))).toEqual(['a', 'b', 'c']);
  });

  test('--from STAGE runs it and what follows; what is upstream is taken as recorded, even when stale', async () => {
    const p = chain();
    ok(await p.run());
    p.write('in.txt', 'two\n'); // a is stale now; --from c does not look at it
    const plan = ok(await p.run('-n', '--from', 'c'));
    expect(statuses(plan)).toEqual({ c: 'skipped', d: 'skipped' });
    p.write('c.txt', 'edited by hand\n');
    expect(await ranBy(p, ['--from', 'c'])).toEqual([]); // c is restored from the cache, d stays fresh
    expect(p.read('c.txt')).toBe('one\n');
    expect(await ranBy(p, ['--from', 'b', '--force'])).toEqual(['b', 'c', 'd']);
    expect(p.read('d.txt')).toBe('one\n'); // b read the recorded a.txt, not in.txt
  });

  test('--downstream: the targets and everything after them, not what is before', async () => {
    const p = chain();
    ok(await p.run());
    p.write('in.txt', 'two\n');
    const r = ok(await p.run('-n', 'b', '--downstream'));
    expect(Object.keys(stageEvents(r))).toEqual(['b', 'c', 'd']);
    expect(await ranBy(p, ['a', '--downstream'])).toEqual(['a', 'b', 'c', 'd']);
    expect(p.read('d.txt')).toBe('two\n');
  });

  test('status takes the same selection', async () => {
    const p = chain();
    const r = ok(await p.pipe(['status', '--until', 'b']));
    expect((JSON.parse(r.stdout) as { stages: { name: string }[] }).stages.map((s) => s.name)).toEqual(['a', 'b']);
    const from = ok(await p.pipe(['status', '--from', 'c', '--until', 'c']));
    expect((JSON.parse(from.stdout) as { stages: { name: string }[] }).stages.map((s) => s.name)).toEqual(['c']);
  });

  test('an upstream stage cut off that has never run: not run, saying so, exit 1', async () => {
    const p = chain();
    const r = expectExit(await p.run('--from', 'c'), 1);
    const c = stageEvents(r).c!;
    expect(c.status).toBe('failed');
    expect(c.notRun).toBe(true);
    expect(c.reason).toContain("upstream stage 'b' has never run and is outside the selection");
    expect(stageEvents(r).d!.reason).toContain("upstream stage 'b' has never run"); // said as it is, not as a failure
    expect(p.lines('ran.log')).toEqual([]);
  });

  test('an unknown stage: did-you-mean, exit 2, nothing run', async () => {
    const p = chain();
    for (const flag of ['--from', '--until']) {
      const r = expectExit(await p.run(flag, 'bb'), 2);
      expect(r.stderr).toContain(`${flag} bb: unknown target 'bb' (did you mean 'b'?)`);
    }
    const r = expectExit(await p.run('--from', 'd', '--until', 'a'), 2);
    expect(r.stderr).toContain('--until a: no stage of the selection is at or upstream of it');
    expect(p.lines('ran.log')).toEqual([]);
  });
});

describe('always_changed', () => {
  const CLOCK = `version: 1
stages:
  clock:
    cmd: echo clock >> ran.log && cat now.txt > clock.txt
    outs: [clock.txt]
    always_changed: true
  report:
    cmd: echo report >> ran.log && cat clock.txt > report.txt
    deps: [clock.txt]
    outs: [report.txt]
`;

  test('runs on every run; what reads it reruns only when its outputs changed', async () => {
    const p = project(CLOCK, { 'now.txt': '10:00\n' });
    expect(await ranBy(p, [])).toEqual(['clock', 'report']);
    expect(await ranBy(p, [])).toEqual(['clock']); // same output: report is cut off
    const again = ok(await p.run());
    expect(statuses(again)).toEqual({ clock: 'ran', report: 'skipped' });
    expect(stageEvents(again).clock!.reason).toBe('runs every time (always_changed: true)');
    p.write('now.txt', '10:05\n'); // not a dep of clock: only its running every time sees it
    expect(await ranBy(p, [])).toEqual(['clock', 'report']);
    expect(p.read('report.txt')).toBe('10:05\n');
    const status = ok(await p.pipe(['status']));
    expect((JSON.parse(status.stdout) as { stages: { name: string; state: string }[] }).stages[0]).toMatchObject({ name: 'clock', state: 'stale' });
  });

  test('the no-op fast path never answers for it (and does once it is gone)', async () => {
    // a stage that keeps its output (persist) and rewrites it only when it changed leaves stats a snapshot could vouch for
    const KEEPING = CLOCK.replace('cat now.txt > clock.txt', '(cmp -s now.txt clock.txt || cp now.txt clock.txt)')
      .replace('    always_changed: true\n', '    always_changed: true\n    persist: true\n');
    const p = project(KEEPING, { 'now.txt': '10:00\n' });
    ok(await p.run());
    for (let i = 0; i < 3; i++) {
      await settle();
      const r = ok(await p.run());
      expect(summary(r)?.fast).toBeUndefined();
      expect(statuses(r).clock).toBe('ran');
    }
    p.pipeline(KEEPING.replace('    always_changed: true\n', ''));
    let answered = false;
    for (let i = 0; i < 6 && !answered; i++) {
      await settle();
      answered = summary(ok(await p.run()))?.fast === true;
    }
    expect(answered).toBe(true);
  });
});
