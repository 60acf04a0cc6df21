/**
 * `pipe clean --orphans` (ninja's cleandead): removes what an earlier run recorded as an output and no stage
 * declares now; lists it first; never touches declared outputs, files pipe did not write, or anything through
 * a symlink leading out. Through the real CLI.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { expectExit, ok, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const outside = mkdtempSync(path.join(tmpdir(), 'pipe-orphans-outside-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

/** One object per source (a foreach over a glob), linked from a glob of the objects. */
const OBJECTS = `version: 1
vars: {sources: "src/*.c"}
stages:
  compile:
    foreach: sources
    cmd: mkdir -p obj && cp \${item} obj/\${job}.o
    deps: ["\${item}"]
    outs: ["obj/\${job}.o"]
  link:
    cmd: cat obj/*.o > app
    deps: [obj/*.o]
    outs: [app]
`;

function objects(p: TestProject): string[] {
  return readdirSync(p.path('obj')).sort();
}

interface OrphanReport {
  dryRun: boolean;
  orphans: { path: string; kind: string; stages: string[] }[];
  removed: string[];
  kept: { path: string; reason: string }[];
}

async function orphansJson(p: TestProject, ...args: string[]): Promise<OrphanReport> {
  return JSON.parse(ok(await p.pipe(['clean', '--orphans', ...args])).stdout) as OrphanReport;
}

describe.concurrent('pipe clean --orphans', () => {
  test('a renamed source: -n lists the stale object, then it is removed and its record forgotten; declared and hand-made files stay', async () => {
    const p = project(OBJECTS, { 'src/main.c': 'main\n', 'src/util.c': 'util\n' });
    ok(await p.run());
    const stale = objects(p).find((o) => o.startsWith('util-'))!;
    renameSync(p.path('src/util.c'), p.path('src/helpers.c'));
    ok(await p.run());
    expect(p.read('app')).toBe('util\nmain\nutil\n'); // the stale object breaks the link
    p.write('obj/mine.o', 'made by hand\n');
    p.write('notes.txt', 'mine\n');

    const listed = ok(await p.pipe(['clean', '--orphans', '-n'], { json: false }));
    expect(listed.stdout).toContain(`obj/${stale}`);
    expect(listed.stdout).toContain('dry run');
    expect(p.exists(`obj/${stale}`)).toBe(true);
    const dry = await orphansJson(p, '--dry-run');
    expect(dry).toMatchObject({ dryRun: true, removed: [], orphans: [{ path: `obj/${stale}`, kind: 'file', stages: [expect.stringMatching(/^compile@util-/)] }] });

    const removed = await orphansJson(p);
    expect(removed.removed).toEqual([`obj/${stale}`]);
    expect(objects(p)).not.toContain(stale);
    expect(objects(p)).toEqual(expect.arrayContaining(['mine.o', expect.stringMatching(/^helpers-/), expect.stringMatching(/^main-/)]));
    expect(objects(p)).toHaveLength(3);
    expect(p.read('notes.txt')).toBe('mine\n');
    expect(p.read('app')).toBe('util\nmain\nutil\n'); // a declared output, even a stale one, is not an orphan

    // the record is forgotten: the stage that comes back is never-run (restored from the cache), not "missing outputs"
    p.write('src/util.c', 'util\n');
    const status = JSON.parse(ok(await p.pipe(['status'])).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages.find((s) => s.name.startsWith('compile@util-'))?.state).toBe('never-run');
    expect((await orphansJson(p)).orphans).toEqual([]);
  });

  test('a renamed output is an orphan; one changed since pipe wrote it is kept, and said so', async () => {
    const p = project(`version: 1
stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
  b:
    cmd: echo b > b.txt
    outs: [b.txt]
`);
    ok(await p.run());
    p.pipeline(`version: 1
stages:
  a:
    cmd: echo a > a2.txt
    outs: [a2.txt]
`);
    ok(await p.run());
    p.write('b.txt', 'edited\n');
    const r = ok(await p.pipe(['clean', '--orphans'], { json: false }));
    expect(r.stdout).toMatch(/removing 1 orphaned output.*\n\s+a\.txt/);
    expect(r.stderr).toContain("not removing 'b.txt': it changed since pipe wrote it");
    expect(p.exists('a.txt')).toBe(false);
    expect(p.read('b.txt')).toBe('edited\n');
    expect(p.read('a2.txt')).toBe('a\n');
  });

  test('an old output folder that now holds a current output, or a source, is not removed', async () => {
    const p = project(`version: 1
stages:
  gen:
    cmd: mkdir -p data && echo 1 > data/one.csv
    outs: [data]
`);
    ok(await p.run());
    p.pipeline(`version: 1
stages:
  sum:
    cmd: cat data/one.csv > sum.txt
    deps: [data/one.csv]
    outs: [sum.txt]
`);
    ok(await p.run());
    const report = await orphansJson(p);
    expect(report.orphans).toEqual([]);
    expect(p.read('data/one.csv')).toBe('1\n');
  });

  test('never through a symlink that leads out of the project', async () => {
    const p = project(`version: 1
stages:
  gen:
    cmd: mkdir -p gen && echo x > gen/x.txt
    outs: [gen/x.txt]
`);
    ok(await p.run());
    p.pipeline('version: 1\nstages:\n  other:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n');
    const target = path.join(outside, 'gen');
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'x.txt'), 'x\n');
    rmSync(p.path('gen'), { recursive: true });
    symlinkSync(target, p.path('gen'));
    const r = ok(await p.pipe(['clean', '--orphans'], { json: false }));
    expect(r.stderr).toContain('outside the project');
    expect(existsSync(path.join(target, 'x.txt'))).toBe(true);
  });

  test('--orphans takes no targets', async () => {
    const p = project(OBJECTS, { 'src/main.c': 'main\n' });
    const r = expectExit(await p.pipe(['clean', '--orphans', 'link'], { json: false }), 2);
    expect(r.stderr).toContain('--orphans takes no targets');
  });
});
