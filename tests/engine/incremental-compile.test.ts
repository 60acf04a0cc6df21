/**
 * Editing a stage of a compiled pipeline recompiles only that stage (src/incremental-compile.ts); what the
 * commands see is exactly what a full compile of the edited file gives.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { compiledSections, reusable } from '../../src/incremental-compile.js';
import type { Stage } from '../../src/pipeline/types.js';
import { ok, projectsRemovedAfterAll, statuses } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

function stagesYaml(n: number, edit: (i: number) => string = (i) => `echo ${i} > out/${i}.txt`): string {
  const stages = Array.from({ length: n }, (_, i) => `  s${i}:\n    cmd: ${edit(i)}\n    outs: [out/${i}.txt]\n`);
  return `version: 1\nvars:\n  greeting: hello\nstages:\n${stages.join('')}`;
}

function instance(name: string): Stage {
  return { name, deps: [], outs: [], params: {}, needs: [], env: {}, resources: { cpu: 1, gpu: 0, mem: 0 }, loc: { file: 'p', line: 0, col: 0 } };
}

describe('which stages an edit recompiles', () => {
  const before = stagesYaml(4);
  const earlierSections = compiledSections(before, {}, 'salt')!;
  const raw = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`s${i}`, { cmd: `echo ${i} > out/${i}.txt`, outs: [`out/${i}.txt`] }]));
  const earlier = { sections: earlierSections.withRaw(raw), pipeline: { stages: [0, 1, 2, 3].map((i) => instance(`s${i}`)) } };

  test('only the edited stage is parsed again; the others are lent by the earlier compile', () => {
    const after = stagesYaml(4, (i) => (i === 2 ? 'echo changed > out/2.txt' : `echo ${i} > out/${i}.txt`));
    const current = compiledSections(after, {}, 'salt')!;
    expect(current.key).toBe(earlierSections.key);
    const reuse = reusable(earlier, current, after)!;
    expect([...reuse.unchanged.keys()]).toEqual(['s0', 's1', 's3']);
    expect((reuse.value as { stages: Record<string, { cmd: string }> }).stages.s2!.cmd).toBe('echo changed > out/2.txt');
    expect(Object.keys((reuse.value as { stages: object }).stages)).toEqual(['s0', 's1', 's2', 's3']);
  });

  test('a change outside the stages (a var), or another --set, recompiles everything', () => {
    expect(compiledSections(before.replace('hello', 'bye'), {}, 'salt')!.key).not.toBe(earlierSections.key);
    expect(compiledSections(before, { greeting: 'x' }, 'salt')!.key).not.toBe(earlierSections.key);
    expect(compiledSections(before, {}, 'another build')!.key).not.toBe(earlierSections.key);
  });
});

describe.concurrent('editing a compiled pipeline', () => {
  test('the edited command runs; positions of the stages below an inserted one move with them', async () => {
    const p = project(stagesYaml(30));
    ok(await p.run());
    p.pipeline(stagesYaml(30, (i) => (i === 7 ? 'echo edited > out/7.txt' : `echo ${i} > out/${i}.txt`)));
    expect(statuses(ok(await p.run()))).toMatchObject({ s7: 'ran', s8: 'skipped' });
    expect(p.read('out/7.txt')).toBe('edited\n');
    const entry = readdirSync(p.path('.pipe/compiled')).filter((f) => f.endsWith('.json'));
    expect(entry.length).toBe(2);
    // a new first stage writing what s20 writes: the clash names s20 at its new line (3 lines further down)
    const yaml = stagesYaml(30).replace('stages:\n', 'stages:\n  first:\n    cmd: echo x > out/20.txt\n    outs: [out/20.txt]\n');
    p.pipeline(yaml);
    const clash = await p.run();
    expect(clash.code).toBe(2);
    const line = yaml.split('\n').indexOf('  s20:') + 1;
    expect(clash.stderr).toContain(`also declared by stage 'first'`);
    expect(clash.stderr).toContain(`pipeline.yaml:${line}:3`);
  });

  test('an edit that breaks one stage is a located error, and fixing it runs again', async () => {
    const p = project(stagesYaml(20));
    ok(await p.run());
    const broken = stagesYaml(20).replace('    cmd: echo 12 > out/12.txt\n', '    cmd: echo 12 > out/12.txt\n    colour: red\n');
    p.pipeline(broken);
    const result = await p.run();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`pipeline.yaml:${broken.split('\n').indexOf('    colour: red') + 1}:5: unknown key 'colour'`);
    p.pipeline(stagesYaml(20));
    expect(Object.values(statuses(ok(await p.run()))).every((s) => s === 'skipped')).toBe(true);
  });

  test('an edit of deps, needs or outs rebuilds the graph; one of commands alone keeps it', async () => {
    const p = project(stagesYaml(5));
    ok(await p.run());
    // s1 now reads what s3 writes: s3 must run first, though it is declared after s1
    const reads = stagesYaml(5, (i) => (i === 3 ? 'echo three > out/3.txt' : `echo ${i} > out/${i}.txt`))
      .replace('    cmd: echo 1 > out/1.txt\n', '    cmd: cat out/3.txt > out/1.txt\n    deps: [out/3.txt]\n');
    p.pipeline(reads);
    ok(await p.run('-j1'));
    expect(p.read('out/1.txt')).toBe('three\n');
    // needs both ways: a cycle
    p.pipeline(reads.replace('    outs: [out/0.txt]\n', '    outs: [out/0.txt]\n    needs: [s4]\n').replace('    outs: [out/4.txt]\n', '    outs: [out/4.txt]\n    needs: [s0]\n'));
    const cycle = await p.run();
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/cycle/);
    // two stages declaring one output
    p.pipeline(reads.replace('    outs: [out/4.txt]\n', '    outs: [out/2.txt]\n'));
    const clash = await p.run();
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`also declared by stage`);
    // a command edited alone: the same graph, the edit runs
    p.pipeline(reads.replace('echo 4 > out/4.txt', 'echo four > out/4.txt'));
    expect(statuses(ok(await p.run()))).toMatchObject({ s4: 'ran', s1: 'skipped' });
    expect(p.read('out/4.txt')).toBe('four\n');
  });

  test('checks of one stage against the header run for an edited stage: an unknown pool, a reserved variable', async () => {
    const yaml = stagesYaml(6).replace('stages:\n', 'pools:\n  gpu: 1\nstages:\n').replace('    outs: [out/2.txt]\n', '    outs: [out/2.txt]\n    pool: gpu\n');
    const p = project(yaml);
    ok(await p.run());
    const pool = yaml.replace('    outs: [out/4.txt]\n', '    outs: [out/4.txt]\n    pool: gpus\n');
    p.pipeline(pool);
    const unknown = await p.run();
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`pipeline.yaml:${pool.split('\n').indexOf('    pool: gpus') + 1}:11: unknown pool 'gpus'`);
    const env = yaml.replace('    outs: [out/4.txt]\n', '    outs: [out/4.txt]\n    env:\n      HF_HOME: /tmp/x\n');
    p.pipeline(env);
    const reserved = await p.run();
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain('HF_HOME is set by pipe from the cache roots');
    // the lent stage keeps its pool
    p.pipeline(yaml.replace('echo 4 > out/4.txt', 'echo four > out/4.txt'));
    ok(await p.run());
    const listed = JSON.parse(ok(await p.pipe(['list', '--json'])).stdout);
    expect(JSON.stringify(listed)).toContain('gpu');
  });

  test('an edit is written as a delta over the full entry, which pruning keeps; a delta without it is compiled again', async () => {
    const p = project(stagesYaml(30));
    ok(await p.run());
    const edited = (k: number) => stagesYaml(30, (i) => (i === k ? `echo e${k} > out/${i}.txt` : `echo ${i} > out/${i}.txt`));
    for (let k = 1; k <= 12; k++) {
      p.pipeline(edited(k));
      ok(await p.pipe(['list']));
    }
    const dir = p.path('.pipe/compiled');
    const entries = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const heads = new Map(entries.map((f) => [f, readFileSync(path.join(dir, f), 'utf8').split('\n')[0]!.split(' ')[1]]));
    const bases = new Set([...heads.values()].filter((b) => b !== undefined));
    expect(bases.size).toBe(1);
    const base = [...bases][0]!;
    expect(entries).toContain(base); // the oldest entry, kept past the 8 newest because they are deltas over it
    expect(entries.length).toBe(9);
    const sizes = entries.map((f) => readFileSync(path.join(dir, f)).length);
    expect(Math.max(...entries.filter((f) => f !== base).map((f) => readFileSync(path.join(dir, f)).length))).toBeLessThan(Math.min(...sizes.filter((_, i) => entries[i] === base)) / 2);
    // the base gone: the newest delta cannot be read, and the run compiles the file again
    rmSync(path.join(dir, base));
    expect(statuses(ok(await p.run()))).toMatchObject({ s12: 'ran', s11: 'skipped', s3: 'skipped' });
    expect(p.read('out/12.txt')).toBe('e12\n');
    expect(p.read('out/11.txt')).toBe('11\n');
  });

  test('the compiled entry an edit starts from is checked like any other (a tampered one is not lent)', async () => {
    const p = project(stagesYaml(5));
    ok(await p.run());
    const dir = p.path('.pipe/compiled');
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const text = readFileSync(path.join(dir, file!), 'utf8');
    p.write(`.pipe/compiled/${file}`, text.replace('echo 3 > out/3.txt', 'echo fake > out/3.txt'));
    p.pipeline(stagesYaml(5, (i) => (i === 0 ? 'echo zero > out/0.txt' : `echo ${i} > out/${i}.txt`)));
    ok(await p.run('--force'));
    expect(p.read('out/3.txt')).toBe('3\n');
    expect(p.read('out/0.txt')).toBe('zero\n');
  });
});

/**
 * A pipeline with something of every kind an edit touches: needs, a pool, a foreach over a list, params and
 * env, so that what is lent, what is compiled again and what a delta entry moves can each go wrong.
 */
function mixedYaml(edit: (i: number) => string = () => ''): string {
  const stages = Array.from({ length: 40 }, (_, i) => {
    const extra = edit(i);
    const needs = i % 7 === 3 ? `    needs: [s${i - 1}]\n` : '';
    const pool = i % 9 === 4 ? '    pool: gpu\n' : '';
    return `  s${i}:\n    cmd: echo ${i} \${greeting} > out/${i}.txt\n    outs: [out/${i}.txt]\n${needs}${pool}${extra}`;
  });
  const fanout = '  per_lang:\n    foreach: langs\n    cmd: echo ${item} > out/lang-${item}.txt\n    outs: ["out/lang-${item}.txt"]\n    params: [greeting]\n';
  return `version: 1\nvars:\n  greeting: hello\n  langs: [fr, de, hi]\npools:\n  gpu: 1\nenv:\n  TOKENIZERS_PARALLELISM: "false"\nstages:\n${stages.slice(0, 20).join('')}${fanout}${stages.slice(20).join('')}`;
}

describe('an incremental compile and the delta entry it writes give what a full compile gives', () => {
  const farApart = (i: number) => (i === 1 ? '    desc: one\n' : i === 35 ? '    desc: |\n      a\n      b\n      c\n' : '');
  const env11 = (i: number) => (i === 11 ? '    env: {X: "1"}\n' : '');
  const edits: [string, (i: number) => string][] = [
    ['one command edited', env11],
    // s11 stays as edited: the stage an earlier delta replaced is still not the base's
    ['a stage made longer: every stage below moves down', (i) => env11(i) + (i === 2 ? '    desc: |\n      two\n      lines\n' : '')],
    ['two stages far apart edited, one longer', (i) => env11(i) + farApart(i)],
    // s11 back as in the base: what the earlier deltas lent of it must not stand for it
    ['the first edit undone, the others kept', farApart],
    ['needs added', (i) => (i === 30 ? '    needs: [s29]\n' : '')],
    ['a pool given to a stage', (i) => (i === 16 ? '    pool: gpu\n' : '')],
    ['back to the first text', () => ''],
  ];

  test('after each edit of a sequence, in memory and read back from .pipe/compiled', async () => {
    const { openProject } = await import('../../src/project.js');
    const p = project(mixedYaml());
    const file = p.path('pipeline.yaml');
    await openProject(file, {});
    for (const [what, edit] of edits) {
      p.pipeline(mixedYaml(edit));
      const full = await openProject(file, {}, { useCompiled: false });
      const compiled = await openProject(file, {});
      const readBack = await openProject(file, {});
      expect(compiled.pipeline, what).toEqual(full.pipeline);
      expect(compiled.graph, what).toEqual(full.graph);
      expect(readBack.pipeline, what).toEqual(full.pipeline);
      expect(readBack.graph, what).toEqual(full.graph);
    }
    // the edits that kept the graph were written as deltas over the first entry, which is still there
    const dir = p.path('.pipe/compiled');
    const heads = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => readFileSync(path.join(dir, f), 'utf8').split('\n')[0]!.split(' '));
    const bases = new Set(heads.filter((h) => h.length === 2).map((h) => h[1]));
    expect(bases.size).toBe(1);
    expect(readdirSync(dir)).toContain([...bases][0]);
  });
});
