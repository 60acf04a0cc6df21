/** pools: {name: depth} and a stage's `pool:` — at most depth stages of a pool run at once, whatever -j says. */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, statuses, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

/**
 * A stage of a pool of depth DEPTH: it takes one of DEPTH slot dirs (`mkdir` is atomic) or fails, so one
 * stage too many running at once fails the run, and it records when it started and ended (ns). With
 * MEET_TICKS > 0 it then waits for a second stage to have started, failing after MEET_TICKS x 10 ms.
 * Last it lingers, at most LINGER_TICKS x 10 ms, until DEPTH + 1 stages have started (which only a broken
 * pool allows), so that stages that may overlap do.
 */
const STAGE_SH = `name=$1; depth=$2; meet_ticks=$3; linger_ticks=$4
mkdir -p marks
slot=
for n in $(seq 1 $depth); do if mkdir slot.$n 2>/dev/null; then slot=slot.$n; break; fi; done
[ -n "$slot" ] || { echo "$name: all $depth slots of the pool are taken" >&2; exit 1; }
date +%s%N > marks/$name.start
started() { ls marks | grep -c '\\.start$'; }
i=0
while [ $meet_ticks -gt 0 ] && [ "$(started)" -lt 2 ]; do
  i=$((i+1)); [ $i -gt $meet_ticks ] && { echo "$name: no other stage started while it ran" >&2; exit 1; }; sleep 0.01
done
i=0
while [ "$(started)" -le $depth ] && [ $i -lt $linger_ticks ]; do i=$((i+1)); sleep 0.01; done
date +%s%N > marks/$name.end
rmdir $slot
`;

function stagesIn(pool: string, names: string[], cmd: (name: string) => string): string {
  return names.map((n) => `  ${n}:\n    cmd: ${cmd(n)}\n    pool: ${pool}\n`).join('');
}

interface Span { name: string; start: bigint; end: bigint }

function spans(p: TestProject, names: string[]): Span[] {
  return names.map((name) => ({ name, start: BigInt(p.read(`marks/${name}.start`).trim()), end: BigInt(p.read(`marks/${name}.end`).trim()) }));
}

/** The largest number of spans that are open at one instant. */
function maxOverlap(all: Span[]): number {
  const events = all.flatMap((s) => [{ at: s.start, delta: 1 }, { at: s.end, delta: -1 }])
    .sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
  let open = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (open += e.delta));
  return max;
}

describe.concurrent('pools', () => {
  test('a depth-1 pool never runs two of its stages at once, even with -j 4', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const p = project(`version: 1
pools: {apt: 1}
stages:
${stagesIn('apt', names, (n) => `sh stage.sh ${n} 1 0 30`)}`, { 'stage.sh': STAGE_SH });
    const result = ok(await p.run('-j', '4'));
    expect(statuses(result)).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    const pool = spans(p, names).sort((x, y) => (x.start < y.start ? -1 : 1));
    for (let i = 1; i < pool.length; i++) expect(pool[i]!.start > pool[i - 1]!.end, `${pool[i]!.name} started before ${pool[i - 1]!.name} ended`).toBe(true);
    expect(maxOverlap(pool)).toBe(1);
  }, 30_000);

  test('a depth-2 pool runs two of its stages at once, never three', async () => {
    // the first stage to start waits (up to 10 s, else it fails) until a second one has started beside it
    const p = project(`version: 1
pools: {pip: 2}
stages:
${stagesIn('pip', ['x', 'y', 'z', 'w'], (n) => `sh stage.sh ${n} 2 1000 30`)}`, { 'stage.sh': STAGE_SH });
    const result = ok(await p.run('-j', '4'));
    expect(statuses(result)).toEqual({ x: 'ran', y: 'ran', z: 'ran', w: 'ran' });
    expect(maxOverlap(spans(p, ['x', 'y', 'z', 'w']))).toBe(2);
  }, 30_000);

  test('an unknown pool is an error at the stage, with a did-you-mean; a depth must be a whole number >= 1', async () => {
    const p = project(`version: 1
pools: {apt: 1}
stages:
  install:
    cmd: echo hi
    pool: atp
`);
    const bad = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(bad.stderr).toContain("pipeline.yaml:6:11: unknown pool 'atp' (did you mean 'apt'?); declared pools: apt");
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+|internal error/);
    expectExit(await p.run(), 2);

    for (const [depth, message] of [['0', 'a depth is a whole number, at least 1'], ['1.5', 'a depth is a whole number, at least 1'], ['"one"', 'expected number']]) {
      p.pipeline(`version: 1\npools: {apt: ${depth}}\nstages:\n  s: {cmd: echo, pool: apt}\n`);
      const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
      expect(r.stderr).toContain(`pipeline.yaml:2:14: pools.apt: ${message}`);
    }
  }, 30_000);

  test('pipe list shows the pools with their depth and stages, and each stage its pool', async () => {
    const p = project(`version: 1
pools: {apt: 1, gpu-jobs: 3}
stages:
  tools:
    desc: Installs the tools
    cmd: echo tools
    pool: apt
  other:
    cmd: echo other
`);
    const listed = JSON.parse(ok(await p.pipe(['list'])).stdout) as { stages: { name: string; pool?: string }[]; pools: unknown[] };
    expect(listed.pools).toEqual([{ name: 'apt', depth: 1, stages: ['tools'] }, { name: 'gpu-jobs', depth: 3, stages: [] }]);
    expect(listed.stages.find((s) => s.name === 'tools')?.pool).toBe('apt');
    expect(listed.stages.find((s) => s.name === 'other')?.pool).toBeUndefined();
    const text = ok(await p.pipe(['list'], { json: false })).stdout;
    expect(text).toMatch(/^ {2}tools +Installs the tools \[pool apt\]$/m);
    expect(text).toMatch(/^pools:\n {2}apt +depth 1: tools\n {2}gpu-jobs +depth 3$/m);
  }, 30_000);
});
