/**
 * Tables of items, through the bundled CLI: `matrix:` of named lists (DVC), `foreach` over a list of maps,
 * and `foreach: {csv|tsv: FILE}` over a sample sheet (Snakemake), with readable job names, `${item.KEY}`,
 * the sheet as an input of the compile (an edit replans, even after a no-op run), and located errors.
 */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents, statuses, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

async function stageNames(p: TestProject): Promise<string[]> {
  const r = ok(await p.pipe(['list']));
  return (JSON.parse(r.stdout) as { stages: { name: string }[] }).stages.map((s) => s.name);
}

describe('matrix', () => {
  test('a 2x3 matrix gives six stages named by their combination, each with its own values', async () => {
    const p = project(`version: 1
vars:
  langs: [en, fr, de]
stages:
  train:
    matrix:
      model: [cnn, xgb]
      lang: \${langs}
    cmd: echo \${item.model} \${item.lang} > out/\${job}.txt
    outs: ["out/\${job}.txt"]
`);
    const combos = ['cnn-en', 'cnn-fr', 'cnn-de', 'xgb-en', 'xgb-fr', 'xgb-de'];
    expect(await stageNames(p)).toEqual(combos.map((c) => `train@${c}`));
    const r = ok(await p.run());
    expect(Object.keys(stageEvents(r)).sort()).toEqual(combos.map((c) => `train@${c}`).sort());
    for (const c of combos) expect(p.read(`out/${c}.txt`)).toBe(`${c.replace('-', ' ')}\n`);
    expect(Object.values(statuses(ok(await p.run())))).toEqual(Array(6).fill('skipped'));
  });

  test('values that make no safe name get a hash; a matrix key that is not a list is an error at its line', async () => {
    const p = project(`version: 1
stages:
  t:
    matrix:
      file: [a b.wav, "x;y"]
    cmd: echo \${item.file} > "out/\${job}.txt"
    outs: ["out/\${job}.txt"]
`);
    const names = await stageNames(p);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^t@[a-z0-9-]+-[0-9a-f]{8}$/);
    p.pipeline(`version: 1
vars: {one: solo}
stages:
  t:
    matrix:
      a: [1, 2]
      b: \${one}
    cmd: echo \${item.a}
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:7:10: matrix b: .*not a list/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('foreach over a list of maps', () => {
  test('${item.KEY} per map; named by the first value when it is a safe and unique name', async () => {
    const p = project(`version: 1
vars:
  runs:
    - {name: small, n: 1}
    - {name: big, n: 3}
    - {name: "with space", n: 5}
stages:
  fit:
    foreach: runs
    cmd: echo \${item.n} > "r/\${job}.txt"
    outs: ["r/\${job}.txt"]
`);
    const names = await stageNames(p);
    expect(names.slice(0, 2)).toEqual(['fit@small', 'fit@big']);
    expect(names[2]).toMatch(/^fit@with-space-[0-9a-f]{8}$/);
    ok(await p.run());
    expect(p.read('r/small.txt')).toBe('1\n');
    expect(p.read('r/big.txt')).toBe('3\n');
  });

  test('a list mixing maps and paths is refused at the foreach line', async () => {
    const p = project(`version: 1
vars:
  runs: [{name: a}, b.txt]
stages:
  fit:
    foreach: runs
    cmd: echo hi
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:6:\d+: var 'runs' mixes maps with paths/);
  });
});

describe('a sample sheet', () => {
  const PIPELINE = `version: 1
stages:
  align:
    foreach: {tsv: samples.tsv}
    cmd: echo \${item.sample} \${item.fastq} >> align.log && echo \${item.fastq} > "al/\${job}.txt"
    outs: ["al/\${job}.txt"]
  count:
    foreach: {tsv: samples.tsv}
    cmd: wc -c < "al/\${job}.txt" > "ct/\${job}.txt"
    deps: ["al/\${job}.txt"]
    outs: ["ct/\${job}.txt"]
`;

  test('one stage per row, named by the first column; an edit of the sheet replans only the rows it touched', async () => {
    const p = project(PIPELINE, { 'samples.tsv': 'sample\tfastq\nA\tdata/a.fq\nB\tdata/b.fq\n' });
    expect(await stageNames(p)).toEqual(['align@A', 'align@B', 'count@A', 'count@B']);
    const graph = JSON.parse(ok(await p.pipe(['graph', '--format', 'json'], { json: false })).stdout) as { edges: { from: string; to: string }[] };
    expect(graph.edges).toEqual(expect.arrayContaining([{ from: 'align@A', to: 'count@A' }, { from: 'align@B', to: 'count@B' }]));
    expect(graph.edges).toHaveLength(2);
    ok(await p.run());
    ok(await p.run()); // up to date: leaves the no-op snapshot, which the edit must not fool
    p.write('samples.tsv', 'sample\tfastq\nA\tdata/a.fq\nB\tdata/b2.fq\nC\t"data/c,1.fq"\n');
    const r = ok(await p.run());
    expect(statuses(r)).toEqual({
      'align@A': 'skipped', 'align@B': 'ran', 'align@C': 'ran',
      'count@A': 'skipped', 'count@B': 'ran', 'count@C': 'ran',
    });
    expect(p.read('al/C.txt')).toBe('data/c,1.fq\n');
  });

  test('rows sharing a first column are named by all their values (sample and unit), a hash only when that clashes too', async () => {
    const p = project(`version: 1
stages:
  x:
    foreach: {csv: units.csv}
    cmd: echo \${item.sample} \${item.unit}
`, { 'units.csv': 'sample,unit\nA,1\nA,2\nB,1\nA,1\n' });
    expect(await stageNames(p)).toEqual(['x@A-1', 'x@A-2', 'x@B']); // the repeated row counts once
    p.write('units.csv', 'sample,unit\nA,1\nA,2\nA-1,x\n');
    const names = await stageNames(p);
    expect(names.slice(1)).toEqual(['x@A-2', 'x@A-1']);
    expect(names[0]).toMatch(/^x@a-[0-9a-f]{8}$/);
  });

  test('a CSV sheet with quoted fields; a malformed one names the sheet, its line and column', async () => {
    const p = project(PIPELINE.replaceAll('{tsv: samples.tsv}', '{csv: samples.csv}'), {
      'samples.csv': 'sample,fastq\nA,"a ""quoted"", name.fq"\n',
    });
    ok(await p.run());
    expect(p.read('al/A.txt')).toBe('a "quoted", name.fq\n');
    p.write('samples.csv', 'sample,fastq\nA,a.fq\nB,b.fq,extra\n');
    let r = expectExit(await p.run(), 2);
    expect(r.stderr).toContain('samples.csv:3: this row has 3 fields, the header has 2 (sample, fastq)');
    p.write('samples.csv', 'sample,fastq\nA,a.fq\nB,"b.fq\n');
    r = expectExit(await p.run(), 2);
    expect(r.stderr).toContain('samples.csv:3:3: this quote is never closed');
    p.write('samples.csv', 'sample,fa stq\nA,a.fq\n');
    r = expectExit(await p.run(), 2);
    expect(r.stderr).toMatch(/samples\.csv:1:8: column name 'fa stq'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(p.read('al/A.txt')).toBe('a "quoted", name.fq\n'); // nothing was touched
  });

  test('a foreach of another form says which forms it takes; a matrix too large is refused before it is built', async () => {
    const p = project(PIPELINE.replace('{tsv: samples.tsv}', '{csvv: samples.tsv}'));
    let r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toContain('pipeline.yaml:4:14: stages.align.foreach: expected a var name, {csv: FILE} or {tsv: FILE}');
    const values = JSON.stringify([...Array(101).keys()]);
    p.pipeline(`version: 1\nstages:\n  t:\n    matrix: {a: ${values}, b: ${values}, c: ${values}}\n    cmd: echo \${item.a}\n`);
    r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toContain('pipeline.yaml:4:5: matrix gives 1,030,301 combinations; at most 1,000,000');
  });

  test('a missing sheet, or one outside the project, is an error at the foreach line', async () => {
    const p = project(PIPELINE);
    let r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:4:\d+: cannot read the sample sheet 'samples\.tsv'/);
    p.pipeline(PIPELINE.replaceAll('samples.tsv', '../samples.tsv'));
    r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:4:\d+: .*outside the project|pipeline\.yaml:4:\d+: .*escapes/);
  });
});
