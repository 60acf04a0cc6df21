/** Metrics and the run history through the bundled CLI: metrics show/diff, pipe runs, the Chrome trace, pruning. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, summary } from '../helpers/pipe-project.js';
import { TWO_PARAMS } from './fixture.js';

const project = projectsRemovedAfterAll();

interface RunJson { id: string; command: string; counts: Record<string, number>; metrics: Record<string, Record<string, number>>; sets: Record<string, unknown> }

describe.concurrent('metrics and run history', () => {
  test('metrics show flattens nested numbers; a run that restores them still reports them', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run());
    const shown = JSON.parse(ok(await p.pipe(['metrics', 'show'])).stdout);
    expect(shown.metrics).toEqual({ 'metrics.json': { score: 10, 'nested.loss': 0.1 } });
    const text = ok(await p.pipe(['metrics', 'show'], { json: false })).stdout;
    expect(text).toMatch(/metrics\.json\s+nested\.loss\s+0\.1/);

    ok(await p.run('--set', 'b=20'));
    const back = ok(await p.run()); // b=10 again: restored from the cache, not run
    expect(p.lines('calls.log')).toEqual(['prep', 'train', 'train']);
    expect(back.events.find((e) => e.stage === 'train')?.status).toBe('restored');
    expect(summary(back)?.metrics).toEqual({ 'metrics.json': { score: 10, 'nested.loss': 0.1 } });
    const plain = ok(await p.pipe(['run', '--set', 'b=20'], { json: false }));
    expect(plain.stderr).toMatch(/metrics:\n\s+metrics\.json: score=20 nested\.loss=0\.2/);
  });

  test('metrics diff after a param change shows the change per value', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run());
    ok(await p.run('--set', 'b=30'));
    const diff = JSON.parse(ok(await p.pipe(['metrics', 'diff'])).stdout);
    expect(diff.diff).toEqual([
      { file: 'metrics.json', key: 'score', old: 10, new: 30, change: 20 },
      { file: 'metrics.json', key: 'nested.loss', old: 0.1, new: 0.3, change: 0.2 },
    ]);
    const runs = JSON.parse(ok(await p.pipe(['runs'])).stdout).runs as RunJson[];
    expect(diff.against).toBe(runs[0]!.id);
    const text = ok(await p.pipe(['metrics', 'diff', runs[0]!.id], { json: false })).stdout;
    expect(text).toMatch(/score\s+10\s+30\s+\+20 \(\+200%\)/);
    // an unknown run is a clear error, exit 2
    const bad = expectExit(await p.pipe(['metrics', 'diff', 'nosuchrun'], { json: false }), 2);
    expect(bad.stderr).toMatch(/no run 'nosuchrun'.*pipe runs/);
    expect(bad.stderr).not.toMatch(/at .*\.js/);
  });

  test('each run is recorded: when, command line, sets, per-stage status and time, the critical path', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run());
    ok(await p.run('--set', 'a=2'));
    const runs = JSON.parse(ok(await p.pipe(['runs'])).stdout).runs as RunJson[];
    expect(runs.map((r) => r.command)).toEqual(['pipe --json run', 'pipe --json run --set a=2']);
    expect(runs[1]!.sets).toEqual({ a: '2' });
    expect(runs[1]!.counts).toMatchObject({ ran: 2, restored: 0, skipped: 0 });
    const show = JSON.parse(ok(await p.pipe(['runs', 'show', runs[1]!.id])).stdout);
    expect(show.stages.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([['prep', 'ran'], ['train', 'ran']]);
    expect(show.criticalPath).toEqual(['prep', 'train']);
    expect(show.params).toEqual({ a: 2, b: 10 });
    const text = ok(await p.pipe(['runs', 'show', 'latest'], { json: false })).stdout;
    expect(text).toMatch(/critical path \(\d+ms\): prep \d+ms -> train \d+ms/);
    expect(text).toMatch(/command\s+pipe --json run --set a=2/);
  });

  test('--profile writes valid Chrome trace JSON with one event per stage that ran, one lane per worker slot', async () => {
    const p = project(`version: 1
stages:
${['a', 'b', 'c', 'd'].map((n) => `  ${n}:\n    cmd: sleep 0.3; echo ${n} > ${n}.txt\n    outs: [${n}.txt]`).join('\n')}
  all:
    cmd: cat a.txt b.txt c.txt d.txt > all.txt
    deps: [a.txt, b.txt, c.txt, d.txt]
    outs: [all.txt]
  restored:
    cmd: echo r > r.txt
    outs: [r.txt]
`);
    ok(await p.run('restored'));
    ok(await p.pipe(['clean', 'restored']));
    const result = ok(await p.run('-j', '2', '--profile', 'trace.json'));
    const trace = JSON.parse(p.read('trace.json'));
    expect(Array.isArray(trace.traceEvents)).toBe(true);
    for (const e of trace.traceEvents) {
      expect(typeof e.name).toBe('string');
      expect(['X', 'i', 'M']).toContain(e.ph);
      expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
      if (e.ph !== 'M') expect(e.ts).toBeGreaterThanOrEqual(0);
    }
    const ran = result.events.filter((e) => e.type === 'stage' && e.status === 'ran').map((e) => e.stage).sort();
    const complete = trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    expect(complete.map((e: { name: string }) => e.name).sort()).toEqual(ran);
    expect(ran).toEqual(['a', 'all', 'b', 'c', 'd']);
    // -j 2: two worker slots, and no two events of one slot overlap
    const lanes = new Set(complete.map((e: { tid: number }) => e.tid));
    expect(lanes.size).toBe(2);
    for (const lane of lanes) {
      const events = complete.filter((e: { tid: number }) => e.tid === lane).sort((x: { ts: number }, y: { ts: number }) => x.ts - y.ts);
      for (let i = 1; i < events.length; i++) expect(events[i].ts).toBeGreaterThanOrEqual(events[i - 1].ts + events[i - 1].dur);
    }
    expect(trace.traceEvents.filter((e: { ph: string; name: string }) => e.ph === 'i').map((e: { name: string }) => e.name)).toEqual(['restored']);
    // the same trace from the history
    const again = JSON.parse(ok(await p.pipe(['runs', 'trace', 'latest'], { json: false })).stdout);
    expect(again).toEqual(trace);
  });

  test('the history is bounded: the oldest runs are pruned, the files are whole JSON', async () => {
    const p = project(TWO_PARAMS);
    for (let b = 1; b <= 6; b++) ok(await p.pipe(['run', '--set', `b=${b}`], { env: { PIPE_RUNS_KEEP: '4' } }));
    const files = readdirSync(p.path('.pipe/runs')).sort();
    expect(files).toHaveLength(4);
    expect(files.every((f) => /^\d{8}-\d{6}-\d{3}\.json$/.test(f))).toBe(true); // no temp file left behind
    const kept = files.map((f) => JSON.parse(readFileSync(p.path(`.pipe/runs/${f}`), 'utf8')).sets.b);
    expect(kept).toEqual(['3', '4', '5', '6']);
  });

  test('--profile is the trace file; a bare word meant for the hardware shorthand is refused with the shorthand named', async () => {
    const p = project(TWO_PARAMS.replace('stages:', 'args:\n  - {flags: [-p, --hw-profile], var: a}\nstages:'));
    const bad = expectExit(await p.pipe(['run', '--profile', 'cuda'], { json: false }), 2);
    expect(bad.stderr).toMatch(/--profile cuda: --profile writes the run's Chrome trace, a \.json file.*a is set with -p\/--hw-profile/);
    expect(p.exists('cuda')).toBe(false);
    expect(p.exists('calls.log')).toBe(false);
    ok(await p.run('-p', '3'));
    expect(p.read('prep.txt')).toBe('3\n');
  });
});
