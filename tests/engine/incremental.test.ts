/**
 * Incrementality through the real CLI: each test is a fresh project whose commands append a line to
 * `ran.log` (a side channel the fixture deliberately leaves undeclared) so we see which commands executed.
 */
import { appendFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { makeProject, ok, statuses, summary, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

/** prep: first line of in.txt; upper: upper-cases it; count: counts characters; lonely: independent. */
const CHAIN = `version: 1
vars:
  greeting: hello
  suffix: "!"
stages:
  prep:
    cmd: head -n 1 in.txt > prep.txt; echo prep >> ran.log
    deps: [in.txt]
    outs: [prep.txt]
  upper:
    cmd: tr a-z A-Z < prep.txt > upper.txt; echo upper >> ran.log
    deps: [prep.txt]
    outs: [upper.txt]
  count:
    cmd: wc -c < upper.txt | tr -d ' ' > count.txt; echo count >> ran.log
    deps: [upper.txt]
    outs: [count.txt]
  greet:
    cmd: printf '%s%s\\n' \${greeting} \${suffix} > greet.txt; echo greet >> ran.log
    params: [greeting, suffix]
    outs: [greet.txt]
`;

function chain(): TestProject {
  return project(CHAIN, { 'in.txt': 'abc\nsecond line\n' });
}

describe.concurrent('incremental runs', () => {
  test('a fresh run runs every stage once and writes the right outputs', async () => {
    const p = chain();
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'ran', upper: 'ran', count: 'ran', greet: 'ran' });
    expect(summary(r)).toMatchObject({ type: 'summary', ran: 4, skipped: 0, restored: 0, failed: 0, ms: expect.any(Number) });
    expect(r.events.at(-1)?.type).toBe('summary');
    expect(p.read('upper.txt')).toBe('ABC\n');
    expect(p.read('count.txt')).toBe('4\n');
    expect(p.read('greet.txt')).toBe('hello!\n');
    expect(p.lines('ran.log').sort()).toEqual(['count', 'greet', 'prep', 'upper']);
    for (const e of r.events.filter((x) => x.type === 'stage')) {
      expect(e).toMatchObject({ reason: expect.any(String), ms: expect.any(Number) });
    }
  });

  test('a second run is a no-op: every stage skipped, no command started, outputs untouched', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    const before = p.stat('count.txt');
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'skipped', upper: 'skipped', count: 'skipped', greet: 'skipped' });
    expect(summary(r)).toMatchObject({ ran: 0, skipped: 4, restored: 0, failed: 0 });
    expect(p.lines('ran.log')).toHaveLength(4);
    expect(p.stat('count.txt')).toEqual(before);
  });

  test('touching a dep (mtime only) reruns nothing', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    const later = new Date(Date.now() + 60_000);
    utimesSync(p.path('in.txt'), later, later);
    utimesSync(p.path('prep.txt'), later, later);
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(Object.values(statuses(r)).every((s) => s === 'skipped')).toBe(true);
    expect(p.lines('ran.log')).toHaveLength(4);
  });

  test('editing a dep reruns that stage and what is downstream, not the rest', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    p.write('in.txt', 'wxyz\nsecond line\n');
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'ran', upper: 'ran', count: 'ran', greet: 'skipped' });
    expect(r.events.find((e) => e.stage === 'prep' && e.type === 'stage')?.reason).toContain('in.txt');
    expect(p.read('upper.txt')).toBe('WXYZ\n');
    expect(p.read('count.txt')).toBe('5\n');
  });

  test('--set of a param reruns only the stages that declare it', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    const r = await p.run('--set', 'suffix=?');
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'skipped', upper: 'skipped', count: 'skipped', greet: 'ran' });
    expect(r.events.find((e) => e.stage === 'greet' && e.type === 'stage')?.reason).toMatch(/param suffix/);
    expect(p.read('greet.txt')).toBe('hello?\n');
  });

  test('a param enters the key even when the command does not use it', async () => {
    const p = project(`version: 1
vars: {model: small}
stages:
  train:
    cmd: echo fixed > w.txt; echo train >> ran.log
    params: [model]
    outs: [w.txt]
`);
    expect((await p.run()).code).toBe(0);
    const r = await p.run('--set', 'model=large');
    expect(statuses(r)).toEqual({ train: 'ran' });
    expect(p.lines('ran.log')).toEqual(['train', 'train']);
  });

  test('--set spelling the declared value of a number var changes nothing', async () => {
    const p = project(`version: 1
vars: {epochs: 3, fast: false}
stages:
  train:
    cmd: echo \${epochs} \${fast} > w.txt; echo train >> ran.log
    params: [epochs, fast]
    outs: [w.txt]
`);
    ok(await p.run());
    expect(statuses(ok(await p.run('--set', 'epochs=3', '--set', 'fast=false')))).toEqual({ train: 'skipped' });
    const changed = ok(await p.run('--set', 'epochs=4'));
    expect(changed.events.find((e) => e.type === 'stage')?.reason).toContain('param epochs changed: 3 -> 4');
    expect(p.read('w.txt')).toBe('4 false\n');
    expect(p.lines('ran.log')).toEqual(['train', 'train']);
  });

  test('editing a command reruns the stage', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    p.pipeline(CHAIN.replace("tr a-z A-Z < prep.txt", "tr a-z A-Z < prep.txt | rev"));
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toMatchObject({ prep: 'skipped', upper: 'ran', greet: 'skipped' });
    expect(r.events.find((e) => e.stage === 'upper' && e.type === 'stage')?.reason).toMatch(/command/);
    expect(p.read('upper.txt')).toBe('CBA\n');
  });

  test('early cutoff: a rerun that writes the same output does not rerun downstream', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    p.write('in.txt', 'abc\na different second line\n'); // prep reads only line 1
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'ran', upper: 'skipped', count: 'skipped', greet: 'skipped' });
    expect(p.lines('ran.log')).toEqual(expect.arrayContaining(['prep']));
    expect(p.lines('ran.log').filter((l) => l === 'upper')).toHaveLength(1);
  });
  test('an edit that keeps the size and the mtime is still seen', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    const { atime, mtime } = statSync(p.path('in.txt'));
    p.write('in.txt', 'xyz\nsecond line\n'); // same length
    utimesSync(p.path('in.txt'), atime, mtime);
    const r = ok(await p.run());
    expect(statuses(r)).toMatchObject({ prep: 'ran', upper: 'ran' });
    expect(p.read('upper.txt')).toBe('XYZ\n');
  });

  test('folders: a file added to a dep folder reruns; a deleted output folder is restored', async () => {
    const p = project(`version: 1
stages:
  bundle:
    cmd: mkdir -p out/dir && cat src/*.txt > out/dir/all.txt && echo x > out/dir/x.txt; echo bundle >> ran.log
    deps: [src]
    outs: [out/dir]
  use:
    cmd: cat out/dir/all.txt > use.txt; echo use >> ran.log
    deps: [out/dir/all.txt]
    outs: [use.txt]
`, { 'src/a.txt': 'a\n' });
    ok(await p.run());
    p.write('src/b.txt', 'b\n');
    expect(statuses(ok(await p.run()))).toEqual({ bundle: 'ran', use: 'ran' });
    expect(p.read('use.txt')).toBe('a\nb\n');
    rmSync(p.path('out'), { recursive: true });
    expect(statuses(ok(await p.run()))).toEqual({ bundle: 'restored', use: 'skipped' });
    expect(p.read('out/dir/all.txt')).toBe('a\nb\n');
    expect(p.read('out/dir/x.txt')).toBe('x\n');
    expect(p.lines('ran.log')).toEqual(['bundle', 'use', 'bundle', 'use']);
  });
  test('a glob dep never matches the stage\'s own output: the second run is a no-op', async () => {
    const p = project(`version: 1
stages:
  sum:
    cmd: cat data/a.txt data/b.txt > data/sum.txt; echo sum >> ran.log
    deps: ["data/*.txt"]
    outs: [data/sum.txt]
`, { 'data/a.txt': '1\n', 'data/b.txt': '2\n' });
    ok(await p.run());
    expect(statuses(ok(await p.run()))).toEqual({ sum: 'skipped' });
    p.write('data/c.txt', '3\n');
    expect(statuses(ok(await p.run()))).toEqual({ sum: 'ran' });
    expect(p.lines('ran.log')).toEqual(['sum', 'sum']);
  });
});

describe.concurrent('the run cache', () => {
  test('a deleted output is restored from the cache without running', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    rmSync(p.path('upper.txt'));
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toMatchObject({ prep: 'skipped', upper: 'restored', count: 'skipped' });
    expect(summary(r)).toMatchObject({ ran: 0, restored: 1 });
    expect(p.read('upper.txt')).toBe('ABC\n');
    expect(p.lines('ran.log')).toHaveLength(4);
  });

  test('reverting an input restores the earlier outputs without running anything', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    p.write('in.txt', 'zz\n');
    expect(statuses(await p.run())).toMatchObject({ prep: 'ran', upper: 'ran', count: 'ran' });
    expect(p.read('upper.txt')).toBe('ZZ\n');
    p.write('in.txt', 'abc\nsecond line\n');
    const r = await p.run();
    expect(r.code).toBe(0);
    expect(statuses(r)).toEqual({ prep: 'restored', upper: 'restored', count: 'restored', greet: 'skipped' });
    expect(p.read('upper.txt')).toBe('ABC\n');
    expect(p.read('count.txt')).toBe('4\n');
    expect(p.lines('ran.log')).toHaveLength(4 + 3);
  });

  test('reverting a param restores without running', async () => {
    const p = chain();
    expect((await p.run('--set', 'greeting=hi')).code).toBe(0);
    expect(statuses(ok(await p.run('--set', 'greeting=bye')))).toMatchObject({ greet: 'ran' });
    const r = ok(await p.run('--set', 'greeting=hi'));
    expect(statuses(r)).toMatchObject({ greet: 'restored' });
    expect(p.read('greet.txt')).toBe('hi!\n');
    expect(p.lines('ran.log').filter((l) => l === 'greet')).toHaveLength(2);
  });

  test('editing an output in place never corrupts its cached copy (after a run or a restore)', async () => {
    const p = chain();
    expect((await p.run()).code).toBe(0);
    for (const round of ['after a run', 'after a restore']) {
      if (round === 'after a restore') {
        rmSync(p.path('upper.txt'));
        expect(statuses(ok(await p.run()))).toMatchObject({ upper: 'restored' });
      }
      // appending in place (not replacing the file) would reach the cached copy through a hard link
      appendFileSync(p.path('upper.txt'), 'CORRUPTED\n');
      p.write('in.txt', 'other\n');
      ok(await p.run());
      p.write('in.txt', 'abc\nsecond line\n');
      const r = ok(await p.run());
      expect(statuses(r), round).toMatchObject({ upper: 'restored' });
      expect(p.read('upper.txt'), round).toBe('ABC\n');
    }
  });
});
