/**
 * Outputs never depend on earlier runs: before a stage runs, its declared outputs are moved out of the way
 * (kept in the cache, or under .pipe/backup when the cache does not hold them); a failure puts them back;
 * `persist: true` keeps them in place. Through the real CLI.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { expectExit, ok, stageEvents, statuses, toResult, waitForFile, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const APPEND = `version: 1
vars: {name: a}
stages:
  greet:
    cmd: echo \${name} >> out.txt
    params: [name]
    outs: [out.txt]
`;

/** A folder output built from a glob of inputs, like objects compiled from sources. */
const OBJECTS = `version: 1
stages:
  compile:
    cmd: mkdir -p obj && for f in src/*.c; do b=$(basename "$f" .c); cp "$f" "obj/$b.o"; done
    deps: [src/*.c]
    outs: [obj]
  link:
    cmd: cat obj/*.o > app
    deps: [obj]
    outs: [app]
`;

function files(p: TestProject, rel: string): string[] {
  return readdirSync(p.path(rel)).sort();
}

function backups(p: TestProject): string[] {
  const root = p.path('.pipe/backup');
  if (!p.exists('.pipe/backup')) return [];
  return readdirSync(root).flatMap((run) => readdirSync(path.join(root, run)).map((f) => `${run}/${f}`));
}

describe.concurrent('a stage starts without its earlier outputs', () => {
  test('`>>` into an output after --set changes gives what a fresh checkout gives', async () => {
    const p = project(APPEND);
    ok(await p.run());
    expect(p.read('out.txt')).toBe('a\n');
    ok(await p.run('--set', 'name=b'));
    expect(p.read('out.txt')).toBe('b\n');
    ok(await p.run('--set', 'name=c', '--force'));
    expect(p.read('out.txt')).toBe('c\n');
    // back to a: restored from the cache, not appended
    ok(await p.run());
    expect(p.read('out.txt')).toBe('a\n');
    expect(backups(p)).toEqual([]); // every earlier output was in the cache: nothing to keep
  });

  test('a folder output does not accumulate the files of earlier runs', async () => {
    const p = project(`version: 1
vars: {files: a-b}
stages:
  gen:
    cmd: mkdir -p out && for f in $(echo \${files} | tr - ' '); do echo $f > out/$f.txt; done
    params: [files]
    outs: [out]
`);
    ok(await p.run());
    expect(files(p, 'out')).toEqual(['a.txt', 'b.txt']);
    ok(await p.run('--set', 'files=c'));
    expect(files(p, 'out')).toEqual(['c.txt']);
  });

  test('a renamed input leaves no stale product in a folder output (nothing breaks the link)', async () => {
    const p = project(OBJECTS, { 'src/main.c': 'main\n', 'src/util.c': 'util\n' });
    ok(await p.run());
    expect(p.read('app')).toBe('main\nutil\n');
    p.write('src/helpers.c', p.read('src/util.c'));
    rmSync(p.path('src/util.c'));
    expect(p.exists('src/util.c')).toBe(false);
    ok(await p.run());
    expect(files(p, 'obj')).toEqual(['helpers.o', 'main.o']);
    expect(p.read('app')).toBe('util\nmain\n');
  });

  test('a stage that writes nothing into an existing output folder fails as "did not write" and the folder comes back', async () => {
    const p = project(`version: 1
vars: {write: yes}
stages:
  gen:
    cmd: if [ \${write} = yes ]; then mkdir -p out && echo x > out/x.txt; fi
    params: [write]
    outs: [out]
`);
    ok(await p.run());
    const failed = expectExit(await p.run('--set', 'write=no'), 1);
    expect(stageEvents(failed).gen?.reason).toContain('did not write out');
    expect(files(p, 'out')).toEqual(['x.txt']);
    expect(p.read('out/x.txt')).toBe('x\n');
  });

  test('a stage that creates an empty output folder records an empty folder', async () => {
    const p = project(`version: 1
vars: {n: 1}
stages:
  gen:
    cmd: mkdir -p out; if [ \${n} = 1 ]; then echo x > out/x.txt; fi
    params: [n]
    outs: [out]
`);
    ok(await p.run());
    ok(await p.run('--set', 'n=2'));
    expect(files(p, 'out')).toEqual([]);
    expect(statuses(ok(await p.run('--set', 'n=2')))).toEqual({ gen: 'skipped' });
  });

  test('a file output the stage does not write again is "did not write", and the old one is back', async () => {
    const p = project(`version: 1
vars: {write: yes}
stages:
  gen:
    cmd: if [ \${write} = yes ]; then echo one > out.txt; fi
    params: [write]
    outs: [out.txt]
`);
    ok(await p.run());
    const failed = expectExit(await p.run('--set', 'write=no'), 1);
    expect(stageEvents(failed).gen?.reason).toContain('did not write out.txt');
    expect(p.read('out.txt')).toBe('one\n');
  });

  test('persist: true keeps the previous outputs in place', async () => {
    const p = project(APPEND.replace('outs: [out.txt]', 'outs: [out.txt]\n    persist: true'));
    ok(await p.run());
    ok(await p.run('--set', 'name=b'));
    expect(p.read('out.txt')).toBe('a\nb\n');
  });

  test('persist must be a boolean, and a misspelt key gets a suggestion', async () => {
    const bad = project(APPEND.replace('outs: [out.txt]', 'outs: [out.txt]\n    persist: maybe'));
    const r = expectExit(await bad.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+.*persist.*boolean/);
    const typo = project(APPEND.replace('outs: [out.txt]', 'outs: [out.txt]\n    persits: true'));
    expect(expectExit(await typo.pipe(['validate'], { json: false }), 2).stderr).toContain("did you mean 'persist'");
  });

  test('a hand-edited output is not lost: kept under .pipe/backup when the stage succeeds', async () => {
    const p = project(APPEND);
    ok(await p.run());
    p.write('out.txt', 'precious edit\n');
    const r = ok(await p.run('--set', 'name=b'));
    expect(p.read('out.txt')).toBe('b\n');
    const kept = backups(p);
    expect(kept).toHaveLength(1);
    expect(p.read(`.pipe/backup/${kept[0]}`)).toBe('precious edit\n');
    expect(r.stderr).toContain(`.pipe/backup/${kept[0]}`);
  });

  test('an output that exists but was never recorded is kept too', async () => {
    const p = project(APPEND, { 'out.txt': 'made by hand\n' });
    ok(await p.run());
    expect(p.read('out.txt')).toBe('a\n');
    expect(backups(p).map((b) => p.read(`.pipe/backup/${b}`))).toEqual(['made by hand\n']);
  });

  test('a first run over many unrecorded outputs names the first five it kept, then how many more and where', async () => {
    const items = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const files = Object.fromEntries(items.map((f) => [`out/${f}.txt`, `hand ${f}\n`]));
    const p = project(`version: 1
vars: {items: [${items.join(', ')}]}
stages:
  gen:
    foreach: items
    cmd: echo \${item} > out/\${item}.txt
    outs: ["out/\${item}.txt"]
`, files);
    const r = ok(await p.pipe(['run', '-j', '1'], { json: false }));
    const named = r.stderr.split('\n').filter((line) => line.includes('was not the output pipe recorded'));
    expect(named).toHaveLength(5);
    const folder = backups(p)[0]!.split('/')[0]!;
    expect(r.stderr).toContain(`... and 7 more earlier outputs pipe had not recorded: all 12 kept under .pipe/backup/${folder}/`);
    expect(items.map((f) => p.read(`.pipe/backup/${folder}/out/${f}.txt`))).toEqual(items.map((f) => `hand ${f}\n`));
  });
});

describe.concurrent('a failure puts the outputs back', () => {
  const FAILING = `version: 1
vars: {ok: yes}
stages:
  gen:
    cmd: echo partial > out.txt; mkdir -p dir; echo \${ok} > dir/\${ok}.txt; [ \${ok} = yes ] && echo whole > out.txt
    params: [ok]
    outs: [out.txt, dir]
`;

  test('non-zero exit: the last recorded file and folder come back, the partial ones go', async () => {
    const p = project(FAILING);
    ok(await p.run());
    const failed = expectExit(await p.run('--set', 'ok=no'), 1);
    expect(stageEvents(failed).gen?.status).toBe('failed');
    expect(p.read('out.txt')).toBe('whole\n');
    expect(files(p, 'dir')).toEqual(['yes.txt']);
    expect(statuses(ok(await p.run()))).toEqual({ gen: 'skipped' });
  });

  test('a hand-edited output is what comes back after a failure', async () => {
    const p = project(FAILING);
    ok(await p.run());
    p.write('out.txt', 'precious edit\n');
    p.write('dir/mine.txt', 'mine\n');
    expectExit(await p.run('--set', 'ok=no'), 1);
    expect(p.read('out.txt')).toBe('precious edit\n');
    expect(files(p, 'dir')).toEqual(['mine.txt', 'yes.txt']);
  });

  test('an output deleted before a failed run comes back from the cache; with no record, the partial output goes', async () => {
    const p = project(FAILING);
    ok(await p.run());
    rmSync(p.path('out.txt'));
    expectExit(await p.run('--set', 'ok=no'), 1);
    expect(p.read('out.txt')).toBe('whole\n');

    const fresh = project(FAILING);
    expectExit(await fresh.run('--set', 'ok=no'), 1);
    expect(fresh.exists('out.txt')).toBe(false);
    expect(fresh.exists('dir')).toBe(false);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} mid-stage: exit 130 and the last recorded outputs are back`, async () => {
      const p = project(`version: 1
vars: {v: one}
stages:
  gen:
    cmd: echo started > started.txt; echo \${v} > out.txt; mkdir -p dir; echo \${v} > dir/\${v}.txt; [ \${v} = one ] || sleep 30
    params: [v]
    outs: [out.txt, dir]
`);
      ok(await p.run());
      rmSync(p.path('started.txt'));
      const child = p.start(['run', '--set', 'v=two']);
      await waitForFile(p.path('started.txt'));
      await expect.poll(() => p.exists('dir/two.txt'), { timeout: 5000, interval: 20 }).toBe(true);
      child.kill(signal);
      const r = toResult(await child);
      expect(r.code).toBe(130);
      expect(p.read('out.txt')).toBe('one\n');
      expect(files(p, 'dir')).toEqual(['one.txt']);
      expect(statuses(ok(await p.run()))).toEqual({ gen: 'skipped' });
    });
  }
});
