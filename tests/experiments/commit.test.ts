/**
 * `pipe commit STAGE...` through the bundled CLI: outputs made outside pipe (the old scripts) are recorded as
 * the result of the stage's current key, so `pipe run` runs nothing for it and, downstream, only what is
 * really stale. Each stage appends its name to ran.log: what ran is read from that side channel.
 */
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { expectExit, ok, PIPE_BIN, projectsRemovedAfterAll, statuses, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const PIPELINE = `version: 1
vars: {epochs: 3}
stages:
  train:
    cmd: echo train >> ran.log && mkdir -p model && cat data.txt > model/weights.bin && echo \${epochs} > model/epochs.txt
    deps: [data.txt]
    outs: [model]
    params: [epochs]
  eval:
    cmd: echo eval >> ran.log && cat model/weights.bin > score.txt
    deps: [model]
    outs: [score.txt]
  report:
    cmd: echo report >> ran.log && cat score.txt > report.txt
    deps: [score.txt]
    outs: [report.txt]
`;

/** A project where the old scripts already made the model (and the score) by hand. */
function adopted(): TestProject {
  return project(PIPELINE, {
    'data.txt': 'data\n',
    'model/weights.bin': 'weights made by the old scripts\n',
    'model/epochs.txt': '3\n',
    'score.txt': 'weights made by the old scripts\n',
  });
}

describe('pipe commit', () => {
  test('commit then run: nothing runs for the committed stages, downstream only what is stale', async () => {
    const p = adopted();
    const shown = ok(await p.pipe(['commit', 'train', '-n'], { json: false }));
    expect(shown.stdout).toContain('train  never run: will record');
    expect(shown.stdout).toMatch(/model {2}folder, /);
    expect(ok(await p.pipe(['status'])).stdout).toContain('"name":"train","state":"never-run"'); // -n recorded nothing

    const r = ok(await p.pipe(['commit', 'train', '--yes'], { json: false }));
    expect(r.stderr).toContain('recorded 1 stage(s)');
    const run = ok(await p.run());
    expect(statuses(run)).toEqual({ train: 'skipped', eval: 'ran', report: 'ran' });
    expect(p.lines('ran.log')).toEqual(['eval', 'report']);
    expect(p.read('model/weights.bin')).toBe('weights made by the old scripts\n');

    expect(Object.values(statuses(ok(await p.run())))).toEqual(['skipped', 'skipped', 'skipped']);
  });

  test('committing a chain at once: run runs nothing at all', async () => {
    const p = adopted();
    p.write('report.txt', 'weights made by the old scripts\n');
    ok(await p.pipe(['commit', 'train', 'eval', 'report', '-y'], { json: false }));
    const run = ok(await p.run());
    expect(Object.values(statuses(run))).toEqual(['skipped', 'skipped', 'skipped']);
    expect(p.lines('ran.log')).toEqual([]);
  });

  test('the committed outputs are in the cache: reverting a param restores them without running', async () => {
    const p = adopted();
    ok(await p.pipe(['commit', 'train', '-y'], { json: false }));
    ok(await p.run('train', '--set', 'epochs=5'));
    expect(p.read('model/weights.bin')).toBe('data\n');
    const back = ok(await p.run('train'));
    expect(statuses(back)).toEqual({ train: 'restored' });
    expect(p.read('model/weights.bin')).toBe('weights made by the old scripts\n');
  });

  test('missing outputs: an error naming each, exit 2, nothing recorded', async () => {
    const p = project(PIPELINE, { 'data.txt': 'data\n' });
    const r = expectExit(await p.pipe(['commit', 'train', 'eval', '-y'], { json: false }), 2);
    expect(r.stderr).toContain('nothing recorded:');
    expect(r.stderr).toContain('train: output model missing');
    expect(r.stderr).toContain('eval: upstream stage train has no record');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(ok(await p.pipe(['status'])).stdout).toContain('"name":"train","state":"never-run"');
  });

  test('without --yes and without a terminal to ask on: refuses, records nothing', async () => {
    const p = adopted();
    const r = expectExit(await p.pipe(['commit', 'train'], { json: false }), 2);
    expect(r.stdout).toContain('train  never run: will record'); // it still shows what it would record
    expect(r.stderr).toContain('stdin is not a terminal to ask on; pass --yes (-y)');
    expect(ok(await p.pipe(['status'])).stdout).toContain('"name":"train","state":"never-run"');
  });

  test('unknown stage names: did-you-mean, exit 2', async () => {
    const p = adopted();
    const r = expectExit(await p.pipe(['commit', 'trian', '-y'], { json: false }), 2);
    expect(r.stderr).toContain("unknown target 'trian' (did you mean 'train'?)");
  });

  test('on a terminal it asks, and records only on yes', async () => {
    const p = adopted();
    const onTerminal = (answer: string) =>
      execa('script', ['-qec', `node ${PIPE_BIN} commit train`, '/dev/null'], { cwd: p.dir, input: answer, reject: false, env: { CI: '1', NO_COLOR: '1' } });
    const no = await onTerminal('n\n');
    expect(no.stdout).toContain('Record 1 stage(s) as up to date without running them? [y/N]');
    expect(no.stdout).toContain('nothing recorded');
    expect(ok(await p.pipe(['status'])).stdout).toContain('"name":"train","state":"never-run"');
    const yes = await onTerminal('y\n');
    expect(yes.exitCode).toBe(0);
    expect(ok(await p.pipe(['status'])).stdout).toContain('"name":"train","state":"fresh"');
  });
});
