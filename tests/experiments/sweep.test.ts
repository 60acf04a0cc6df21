/** Sweeps and checkout through the bundled CLI: a grid of variants, each a recorded run; the table; restores. */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, type PipeResult } from '../helpers/pipe-project.js';
import { TWO_PARAMS, metricsText } from './fixture.js';

const project = projectsRemovedAfterAll();

interface SweepJson {
  type: 'sweep';
  params: string[];
  variants: { run: string; params: Record<string, string>; metrics: Record<string, Record<string, number>>; counts: Record<string, number>; exitCode: number }[];
}

function sweepOf(result: PipeResult): SweepJson {
  const line = result.events.find((e) => e.type === 'sweep');
  expect(line).toBeDefined();
  return line as unknown as SweepJson;
}

const GRID = ['--sweep', 'a=1,2', '--sweep', 'b=10,20'];

describe.concurrent('sweeps', () => {
  test('a 2x2 sweep: four recorded runs, the right table; again: nothing runs; the workspace holds the base outputs', async () => {
    const p = project(TWO_PARAMS);
    const first = ok(await p.run(...GRID));
    const table = sweepOf(first);
    expect(table.params).toEqual(['a', 'b']);
    expect(table.variants.map((v) => [v.params.a, v.params.b, v.metrics['metrics.json']])).toEqual([
      ['1', '10', { score: 10, 'nested.loss': 0.1 }],
      ['1', '20', { score: 20, 'nested.loss': 0.2 }],
      ['2', '10', { score: 20, 'nested.loss': 0.1 }],
      ['2', '20', { score: 40, 'nested.loss': 0.2 }],
    ]);
    expect(table.variants.every((v) => v.exitCode === 0)).toBe(true);
    const runs = JSON.parse(ok(await p.pipe(['runs'])).stdout).runs as { id: string; sweep?: { index: number; total: number } }[];
    expect(runs.map((r) => r.id)).toEqual(table.variants.map((v) => v.run));
    expect(runs.map((r) => r.sweep && `${r.sweep.index}/${r.sweep.total}`)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    // the base parameters (a=1, b=10) in the workspace
    expect(p.read('metrics.json')).toBe(metricsText(1, 10));
    expect(p.read('prep.txt')).toBe('1\n');
    const calls = p.lines('calls.log').length;

    const again = ok(await p.run(...GRID));
    expect(p.lines('calls.log')).toHaveLength(calls); // nothing ran
    const second = sweepOf(again);
    expect(second.variants.map((v) => v.counts.ran)).toEqual([0, 0, 0, 0]);
    expect(second.variants.map((v) => v.metrics)).toEqual(table.variants.map((v) => v.metrics));
    expect(again.events.filter((e) => e.type === 'stage' && e.status === 'ran')).toEqual([]);

    const text = ok(await p.pipe(['run', ...GRID], { json: false })).stdout;
    expect(text).toMatch(/run\s+a\s+b\s+score\s+nested\.loss\s+time\s+ran\/restored\s+result/);
    expect(text).toMatch(/\d{8}-\d{6}-\d{3}\s+2\s+20\s+40\s+0\.2\s+\S+\s+0\/\d\s+ok/);
  });

  test('checkout brings back a variant\'s outputs byte-identical, without running', async () => {
    const p = project(TWO_PARAMS);
    const table = sweepOf(ok(await p.run(...GRID)));
    // not the last variant: the sweep's own last run must not be what leaves these outputs
    const variant = table.variants.find((v) => v.params.a === '2' && v.params.b === '10')!;
    const calls = p.lines('calls.log').length;
    const out = ok(await p.pipe(['checkout', variant.run]));
    expect(JSON.parse(out.stdout)).toMatchObject({ run: variant.run, restored: 2, unchanged: 1 }); // curve.csv depends on b only
    expect(p.read('metrics.json')).toBe(metricsText(2, 10));
    expect(p.read('prep.txt')).toBe('2\n');
    expect(p.read('curve.csv')).toBe('step,loss\n1,10\n2,5\n');
    expect(p.lines('calls.log')).toHaveLength(calls);
    // the same outputs a direct run of that variant writes, byte for byte
    const direct = project(TWO_PARAMS);
    ok(await direct.run('--set', 'a=2', '--set', 'b=10'));
    for (const f of ['metrics.json', 'prep.txt', 'curve.csv']) expect(p.read(f)).toBe(direct.read(f));
    // and `pipe run` brings the base back from the cache
    ok(await p.run());
    expect(p.read('metrics.json')).toBe(metricsText(1, 10));
    expect(p.lines('calls.log')).toHaveLength(calls);
  });

  test('checkout does not overwrite an output edited by hand (its content is not in the cache)', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run('--set', 'b=20'));
    ok(await p.run());
    p.write('metrics.json', '{"score": 99}\n');
    const refused = expectExit(await p.pipe(['checkout', '~1'], { json: false }), 1);
    expect(refused.stderr).toMatch(/metrics\.json was changed by hand.*--force/);
    expect(p.read('metrics.json')).toBe('{"score": 99}\n');
    ok(await p.pipe(['checkout', '~1', '--force']));
    expect(p.read('metrics.json')).toBe(metricsText(1, 20));
  });

  test('a key that is not a var: did you mean, exit 2, nothing run', async () => {
    const p = project(TWO_PARAMS.replace('  b: 10', '  b: 10\n  beam: 5'));
    const bad = expectExit(await p.pipe(['run', '--sweep', 'bem=1,2'], { json: false }), 2);
    expect(bad.stderr).toMatch(/--sweep bem: no such var \(did you mean 'beam'\?\)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(p.exists('calls.log')).toBe(false);
    expect(expectExit(await p.pipe(['run', '--sweep', 'a='], { json: false }), 2).stderr).toMatch(/a value is empty/);
    expect(expectExit(await p.pipe(['run', '--sweep', 'a=1', '--set', 'a=2'], { json: false }), 2).stderr).toMatch(/also given with --set/);
  });
});
