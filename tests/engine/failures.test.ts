/** Failures through the real CLI: a failed stage stops its dependents, records nothing, and shows its log. */
import { afterAll, describe, expect, test } from 'vitest';
import { expectExit, makeProject, ok, stageEvents, statuses, summary, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

/** one -> two -> three; two fails unless flag.txt says "good". */
const THREE = `version: 1
stages:
  one:
    cmd: cat in.txt > one.txt; echo one >> ran.log
    deps: [in.txt]
    outs: [one.txt]
  two:
    cmd: echo two >> ran.log; echo "checking the flag"; echo "flag is bad" >&2; grep -q good flag.txt && cp one.txt two.txt
    deps: [one.txt, flag.txt]
    outs: [two.txt]
  three:
    cmd: cat two.txt > three.txt; echo three >> ran.log
    deps: [two.txt]
    outs: [three.txt]
`;

describe.concurrent('failures', () => {
  test('a failing stage exits 1, stops what depends on it, and a fixed rerun runs only it and downstream', async () => {
    const p = project(THREE, { 'in.txt': 'data\n', 'flag.txt': 'bad\n' });
    const failed = expectExit(await p.run(), 1);
    const events = stageEvents(failed);
    expect(events.one?.status).toBe('ran');
    expect(events.two?.status).toBe('failed');
    expect(events.three?.status).not.toBe('ran');
    expect(events.three?.reason).toContain('two');
    expect(p.exists('three.txt')).toBe(false);
    expect(p.lines('ran.log')).toEqual(['one', 'two']);

    p.write('flag.txt', 'good\n');
    const resumed = ok(await p.run());
    expect(statuses(resumed)).toEqual({ one: 'skipped', two: 'ran', three: 'ran' });
    expect(p.read('three.txt')).toBe('data\n');
    expect(p.lines('ran.log')).toEqual(['one', 'two', 'two', 'three']);
  });

  test('a failed rerun records nothing: the last good record stays and a revert needs no run', async () => {
    const p = project(`version: 1
stages:
  up:
    cmd: echo up >> ran.log; grep -v bad in.txt > up.txt
    deps: [in.txt]
    outs: [up.txt]
`, { 'in.txt': 'abc\n' });
    ok(await p.run());
    p.write('in.txt', 'bad\n');
    expect(statuses(expectExit(await p.run(), 1))).toEqual({ up: 'failed' });
    const status = JSON.parse(ok(await p.pipe(['status'])).stdout) as { stages: { state: string }[] };
    expect(status.stages[0]?.state).toBe('stale');
    expect(p.read('up.txt')).toBe('abc\n'); // the failed run put the last recorded output back
    p.write('in.txt', 'abc\n');
    expect(statuses(ok(await p.run()))).toEqual({ up: 'skipped' });
    expect(p.read('up.txt')).toBe('abc\n');
    expect(p.lines('ran.log')).toEqual(['up', 'up']);
  });

  test('the log of a stage is under .pipe/logs and its tail is printed on failure', async () => {
    const p = project(THREE, { 'in.txt': 'data\n', 'flag.txt': 'bad\n' });
    const json = expectExit(await p.run(), 1);
    const two = stageEvents(json).two!;
    expect(two.log).toMatch(/^\.pipe\/logs\//);
    const log = p.read(two.log!);
    expect(log).toContain('checking the flag');
    expect(log).toContain('flag is bad');
    expect(two.tail).toEqual(expect.arrayContaining([expect.stringContaining('flag is bad')]));

    const plain = expectExit(await p.pipe(['run'], { json: false }), 1);
    const screen = plain.stdout + plain.stderr;
    expect(screen).toContain('checking the flag');
    expect(screen).toContain(two.log!);
  });

  test('-k keeps running the branches that do not depend on the failure', async () => {
    const yaml = `version: 1
stages:
  broken:
    cmd: exit 3
    outs: [broken.txt]
  after:
    cmd: cat broken.txt > after.txt
    deps: [broken.txt]
    outs: [after.txt]
  left:
    cmd: sleep 0.2; echo left > left.txt
    outs: [left.txt]
  right:
    cmd: cat left.txt > right.txt
    deps: [left.txt]
    outs: [right.txt]
`;
    const p = project(yaml);
    const r = expectExit(await p.run('-k', '-j', '1'), 1);
    const s = statuses(r);
    expect(s).toMatchObject({ broken: 'failed', left: 'ran', right: 'ran' });
    expect(s.after).not.toBe('ran');
    expect(p.read('right.txt')).toBe('left\n');
    expect(stageEvents(r).broken?.reason).toMatch(/exit code 3/);
  });

  test('without -k a failure stops the stages that have not started yet', async () => {
    const p = project(`version: 1
stages:
  broken:
    cmd: exit 3
    outs: [broken.txt]
  slow:
    cmd: sleep 0.3; echo slow > slow.txt
    outs: [slow.txt]
  later:
    cmd: cat slow.txt > later.txt
    deps: [slow.txt]
    outs: [later.txt]
`);
    const r = expectExit(await p.run('-j', '2'), 1);
    expect(statuses(r).broken).toBe('failed');
    expect(statuses(r).later).not.toBe('ran');
    expect(p.exists('later.txt')).toBe(false);
    const kept = expectExit(await p.run('-j', '2', '-k'), 1);
    expect(statuses(kept).later).toBe('ran');
  });

  test('a stage that exits 0 without writing its output fails and records nothing', async () => {
    const p = project(`version: 1
stages:
  lazy:
    cmd: echo lazy >> ran.log
    outs: [promised.txt]
`);
    const r = expectExit(await p.run(), 1);
    expect(stageEvents(r).lazy).toMatchObject({ status: 'failed', reason: expect.stringContaining('promised.txt') });
    expect(summary(r)).toMatchObject({ ran: 0, failed: 1 });
    const status = ok(await p.pipe(['status']));
    expect(JSON.parse(status.stdout).stages[0]).toMatchObject({ name: 'lazy', state: 'never-run' });
    expectExit(await p.run(), 1);
    expect(p.lines('ran.log')).toEqual(['lazy', 'lazy']);
  });
});
