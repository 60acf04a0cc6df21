/**
 * `cache.link: reflink | hardlink | copy` through the bundled CLI: every mode stores and restores the same
 * bytes; hardlink shares one read-only inode with the store and never lets a stage (or a root edit) corrupt
 * the store; copy gives files of their own; reflink falls back to a copy on ext4/overlay with one note,
 * and really shares extents on a btrfs loop mount; an output on another filesystem is copied, said once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { TestProject, expectExit, makeProject, ok, statuses, type PipeResult, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const BIG = 3_000_000; // above the store's small-file path (1 MiB): copied by copyFile, cloned or linked

/** Outputs of each kind: two big files, a small one, a folder with two equal files and an executable. */
function pipeline(link: string | undefined, extra = ''): string {
  return `version: 1
vars: {v: one}
${link ? `cache:\n  link: ${link}\n` : ''}stages:
  make:
    cmd: mkdir -p out/tree && yes \${v} | head -c ${BIG} > out/big.bin && yes \${v}-2 | head -c ${BIG} > out/big2.bin && echo \${v} > out/small.txt && echo same > out/tree/a.txt && echo same > out/tree/b.txt && printf '#!/bin/sh\\necho %s\\n' \${v} > out/tree/tool.sh && chmod +x out/tree/tool.sh
    params: [v]
    outs: [out/big.bin, out/big2.bin, out/small.txt, out/tree]
${extra}`;
}

const FILES = ['out/big.bin', 'out/big2.bin', 'out/small.txt', 'out/tree/a.txt', 'out/tree/b.txt', 'out/tree/tool.sh'];

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function contents(p: TestProject): Record<string, string> {
  return Object.fromEntries(FILES.map((f) => [f, sha(readFileSync(p.path(f)))]));
}

/** content sha256 -> the object file in .pipe/cache holding it */
function storedObjects(p: TestProject): Map<string, string> {
  const found = new Map<string, string>();
  const objects = p.path('.pipe/cache/objects');
  for (const fanout of readdirSync(objects)) {
    for (const name of readdirSync(path.join(objects, fanout))) {
      const file = path.join(objects, fanout, name);
      found.set(sha(readFileSync(file)), file);
    }
  }
  return found;
}

function objectOf(p: TestProject, rel: string): string {
  const file = storedObjects(p).get(sha(readFileSync(p.path(rel))));
  if (!file) throw new Error(`${rel}: no object in .pipe/cache holds its content`);
  return file;
}

function sameInode(a: string, b: string): boolean {
  const x = statSync(a);
  const y = statSync(b);
  return x.ino === y.ino && x.dev === y.dev;
}

function mode(p: TestProject, rel: string): number {
  return statSync(p.path(rel)).mode & 0o777;
}

/** Runs, bringing the outputs of v=one back (restored), then checks every byte against the first run. */
async function storesAndRestores(p: TestProject): Promise<Record<string, string>> {
  ok(await p.run());
  const first = contents(p);
  for (const f of FILES) expect(storedObjects(p).has(first[f]!), `${f} is stored byte for byte`).toBe(true);
  ok(await p.run('--set', 'v=two'));
  expect(contents(p)['out/big.bin']).not.toBe(first['out/big.bin']);
  const back = ok(await p.run());
  expect(statuses(back)).toEqual({ make: 'restored' });
  expect(contents(p)).toEqual(first);
  rmSync(p.path('out'), { recursive: true });
  expect(statuses(ok(await p.run()))).toEqual({ make: 'restored' });
  expect(contents(p)).toEqual(first);
  expect(mode(p, 'out/tree/tool.sh') & 0o100).toBe(0o100);
  return first;
}

function count(text: string, pattern: RegExp): number {
  return (text.match(new RegExp(pattern.source, 'g')) ?? []).length;
}

function fsType(dir: string): string {
  return spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
}

/** A folder on its own filesystem (`mount ...ARGS dir`), unmounted after the file's tests; undefined (with why) where mount is refused. */
function mounted(dir: string, args: string[]): string | undefined {
  mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', [...args, dir], { encoding: 'utf8' });
  if (m.status !== 0) return `cannot mount here (${(m.stderr || m.error?.message || '').trim()})`;
  cleanups.push(() => void spawnSync('umount', [dir]));
  return undefined;
}

describe('every mode stores and restores byte-identical outputs', () => {
  for (const link of ['reflink', 'hardlink', 'copy', undefined]) {
    test(`cache.link: ${link ?? '(default)'}`, async () => {
      await storesAndRestores(project(pipeline(link)));
    });
  }
});

describe('hardlink', () => {
  test('the output and its object are one read-only inode; an executable is a copy of its own', async () => {
    const p = project(pipeline('hardlink'));
    ok(await p.run());
    for (const f of ['out/big.bin', 'out/small.txt', 'out/tree/a.txt', 'out/tree/b.txt']) {
      expect(sameInode(p.path(f), objectOf(p, f)), `${f} is its object`).toBe(true);
      expect(mode(p, f), `${f} is read-only`).toBe(0o444);
    }
    expect(sameInode(p.path('out/tree/a.txt'), p.path('out/tree/b.txt'))).toBe(true); // equal files take the space of one
    expect(sameInode(p.path('out/tree/tool.sh'), objectOf(p, 'out/tree/tool.sh'))).toBe(false);
    expect(mode(p, 'out/tree/tool.sh')).toBe(0o755);
    // restored ones too
    rmSync(p.path('out'), { recursive: true });
    expect(statuses(ok(await p.run()))).toEqual({ make: 'restored' });
    expect(sameInode(p.path('out/big.bin'), objectOf(p, 'out/big.bin'))).toBe(true);
    expect(mode(p, 'out/big.bin')).toBe(0o444);
  });

  test('an output that is another name of a dep (ln) or a symlink is copied: the dep keeps its mode and inode alone', async () => {
    const p = project(`version: 1
cache: {link: hardlink}
stages:
  alias:
    cmd: mkdir -p out && ln data/in.txt out/linked.txt && ln -s ../data/other.txt out/sym.txt
    deps: [data/in.txt, data/other.txt]
    outs: [out/linked.txt, out/sym.txt]
`, { 'data/in.txt': 'input\n', 'data/other.txt': 'other\n' });
    chmodSync(p.path('data/in.txt'), 0o664);
    chmodSync(p.path('data/other.txt'), 0o664);
    ok(await p.run());
    expect(mode(p, 'data/in.txt')).toBe(0o664);
    expect(mode(p, 'data/other.txt')).toBe(0o664);
    expect(statSync(p.path('data/in.txt')).nlink).toBe(2); // itself and out/linked.txt: the store took a copy
    expect(sameInode(p.path('data/other.txt'), objectOf(p, 'out/sym.txt'))).toBe(false);
  });

  test('an in-place edit by a non-root owner fails with EACCES (a copy would take it)', async () => {
    const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
    if (probe.status !== 0) return void console.log('EACCES case skipped: setpriv cannot drop to uid 65534 here');
    const wrote: Record<string, boolean> = {};
    for (const link of ['hardlink', 'copy']) {
      const p = project(pipeline(link));
      ok(await p.run());
      chmodSync(p.dir, 0o755); // mkdtemp made it 0700
      chownSync(p.path('out/small.txt'), 65534, 65534); // the owner: only the mode can stop the write
      const edit = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', 'echo edit >> out/small.txt'], { cwd: p.dir, encoding: 'utf8' });
      wrote[link] = edit.status === 0;
      if (link === 'hardlink') {
        expect(edit.stderr).toMatch(/Permission denied/);
        expect(p.read('out/small.txt')).toBe('one\n');
        expect(readFileSync(objectOf(p, 'out/small.txt'), 'utf8')).toBe('one\n');
      }
    }
    expect(wrote).toEqual({ hardlink: false, copy: true });
  });

  test('a stage rewriting its output (open O_TRUNC) leaves the stored object intact; a later restore gives the right bytes', async () => {
    const p = project(pipeline('hardlink'));
    ok(await p.run());
    const first = contents(p);
    const object = objectOf(p, 'out/big.bin');
    ok(await p.run('--set', 'v=two')); // `> out/big.bin` truncates whatever is at that path
    expect(sha(readFileSync(object))).toBe(first['out/big.bin']);
    expect(sameInode(p.path('out/big.bin'), object)).toBe(false);
    expect(statuses(ok(await p.run()))).toEqual({ make: 'restored' });
    expect(contents(p)).toEqual(first);
  });

  test('a persist stage appending to its output writes into a copy of its own, never into the store', async () => {
    const p = project(`version: 1
vars: {v: one}
cache: {link: hardlink}
stages:
  log:
    cmd: mkdir -p out/logs && echo \${v} >> out/log.txt && echo \${v}-folder >> out/logs/a.txt
    params: [v]
    persist: true
    outs: [out/log.txt, out/logs]
`);
    ok(await p.run());
    const object = objectOf(p, 'out/log.txt');
    const inFolder = objectOf(p, 'out/logs/a.txt');
    expect(sameInode(p.path('out/log.txt'), object)).toBe(true);
    expect(sameInode(p.path('out/logs/a.txt'), inFolder)).toBe(true);
    ok(await p.run('--set', 'v=two'));
    expect(p.read('out/log.txt')).toBe('one\ntwo\n');
    expect(p.read('out/logs/a.txt')).toBe('one-folder\ntwo-folder\n');
    expect(readFileSync(object, 'utf8')).toBe('one\n');
    expect(readFileSync(inFolder, 'utf8')).toBe('one-folder\n');
    const back = ok(await p.run());
    expect(statuses(back)).toEqual({ log: 'restored' });
    expect(p.read('out/log.txt')).toBe('one\n');
    expect(p.read('out/logs/a.txt')).toBe('one-folder\n');
  });

  test('a root edit in place (same size, mtime put back) alters the shared inode: caught by its ctime, never restored', async () => {
    const p = project(pipeline('hardlink'));
    ok(await p.run());
    const first = contents(p);
    ok(await p.run('--set', 'v=two'));
    ok(await p.run()); // restored: out/big.bin is the object of v=one again
    const object = objectOf(p, 'out/big.bin');
    expect(sameInode(p.path('out/big.bin'), object)).toBe(true);
    ok(await p.run('--set', 'v=two')); // its object was verified (memo) when restored: this edit must undo that
    ok(await p.run());
    const before = statSync(object);
    const edit = spawnSync('sh', ['-c', `printf X | dd of=out/big.bin bs=1 seek=10 conv=notrunc 2>/dev/null && touch -m -d @${before.mtimeMs / 1000} out/big.bin`], { cwd: p.dir });
    expect(edit.status).toBe(0); // root ignores the read-only mode
    expect(statSync(object).size).toBe(before.size);
    expect(statuses(ok(await p.run('--set', 'v=two')))).toEqual({ make: 'restored' }); // v=two's objects are intact
    const back = ok(await p.run());
    expect(back.stderr).toMatch(/out\/big\.bin is damaged in the cache \(its content does not match its hash\)/);
    expect(statuses(back)).toEqual({ make: 'ran' });
    expect(contents(p)).toEqual(first);
  });

  test('gc and clean with links: bytes still held by a workspace link are not counted as freed', async () => {
    const p = project(pipeline('hardlink', `  other:
    cmd: mkdir -p keep && yes kept | head -c ${BIG} > keep/kept.bin
    outs: [keep/kept.bin]
`));
    ok(await p.run());
    ok(await p.run('--set', 'v=two')); // v=one's objects are now only in the store (nlink 1)
    p.pipeline(pipeline('hardlink')); // 'other' is gone: its output is an orphan still linked to its object
    const gc = ok(await p.pipe(['gc'], { json: false }));
    const freed = Number(/removed (\d+) object/.exec(gc.stdout)?.[1]);
    expect(freed).toBeGreaterThanOrEqual(4); // v=one's big, big2, small and tool.sh (and 'other's object)
    expect(gc.stdout).toMatch(/2\.9 MB more once the outputs hardlinked to them are removed/);
    expect(p.read('keep/kept.bin').length).toBe(BIG); // gc never touches the workspace's name
    ok(await p.pipe(['clean'], { json: false }));
    expect(p.exists('out/big.bin')).toBe(false);
    ok(await p.run('--set', 'v=two'));
    expect(contents(p)['out/small.txt']).toBe(sha('two\n'));
  });
});

describe('copy', () => {
  test('outputs and objects are different inodes; outputs stay writable', async () => {
    const p = project(pipeline('copy'));
    ok(await p.run());
    for (const f of ['out/big.bin', 'out/small.txt', 'out/tree/a.txt']) expect(sameInode(p.path(f), objectOf(p, f)), f).toBe(false);
    expect(sameInode(p.path('out/tree/a.txt'), p.path('out/tree/b.txt'))).toBe(false);
    expect(mode(p, 'out/big.bin')).toBe(0o644);
    rmSync(p.path('out'), { recursive: true });
    ok(await p.run());
    expect(sameInode(p.path('out/big.bin'), objectOf(p, 'out/big.bin'))).toBe(false);
    expect(mode(p, 'out/big.bin')).toBe(0o644);
  });
});

describe('reflink', () => {
  test('where the filesystem cannot clone (ext4, overlay), a copy, said once per run', async (ctx) => {
    const type = fsType(tmpdir());
    if (!['ext2/ext3', 'overlayfs', 'tmpfs'].includes(type)) return ctx.skip(); // that filesystem may clone
    const p = project(pipeline('reflink'));
    const first = ok(await p.run());
    expect(count(first.stderr, /cannot clone files/)).toBe(1); // five files stored, one note
    expect(sameInode(p.path('out/big.bin'), objectOf(p, 'out/big.bin'))).toBe(false);
    rmSync(p.path('out'), { recursive: true });
    const restore = ok(await p.run());
    expect(count(restore.stderr, /cannot clone files/)).toBe(1);
    expect(statuses(restore)).toEqual({ make: 'restored' });
    const silent = project(pipeline(undefined));
    expect(ok(await silent.run()).stderr).not.toMatch(/clone/); // the default clones where it can, silently
  });

  test('on btrfs, outputs and objects share their extents', async (ctx) => {
    if (spawnSync('filefrag', ['-V']).error) {
      console.log('btrfs case skipped: no filefrag (e2fsprogs) to read extents with');
      return ctx.skip();
    }
    const base = mkdtempSync(path.join(tmpdir(), 'pipe-btrfs-'));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const image = path.join(base, 'fs.img');
    writeFileSync(image, '');
    spawnSync('truncate', ['-s', '256M', image]);
    const mkfs = spawnSync('mkfs.btrfs', ['-q', image], { encoding: 'utf8' });
    if (mkfs.status !== 0) {
      console.log(`btrfs case skipped: mkfs.btrfs failed (${(mkfs.stderr || mkfs.error?.message || '').trim()})`);
      return ctx.skip();
    }
    const mnt = path.join(base, 'mnt');
    const refused = mounted(mnt, ['-o', 'loop', image]);
    if (refused) {
      console.log(`btrfs case skipped: ${refused}`);
      return ctx.skip();
    }
    const p = makeProject(pipeline('reflink'));
    const dir = path.join(mnt, 'project');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'pipeline.yaml'), readFileSync(p.path('pipeline.yaml')));
    p.remove();
    const q = new TestProject(dir);
    const run = ok(await q.run());
    expect(run.stderr).not.toMatch(/cannot clone/);
    const object = objectOf(q, 'out/big.bin');
    expect(sameInode(q.path('out/big.bin'), object)).toBe(false);
    expect(extents(q.path('out/big.bin'))).toEqual(extents(object));
    expect(extents(object)[0]).toMatch(/shared/);
    rmSync(q.path('out'), { recursive: true });
    ok(await q.run());
    expect(extents(q.path('out/big.bin'))).toEqual(extents(object)); // a restore clones too
    expect(sha(readFileSync(q.path('out/big.bin')))).toBe(sha(readFileSync(object)));
  });
});

/** `filefrag -v`'s extent lines: physical offsets and flags (shared by a clone). */
function extents(file: string): string[] {
  const out = spawnSync('filefrag', ['-v', file], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => /^\s*\d+:/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
}

describe('an output on another filesystem than .pipe/cache', () => {
  test('hardlink falls back to a copy, said once; store and restore still give the right bytes', async (ctx) => {
    const p = project(pipeline('hardlink'));
    const refused = mounted(p.path('out'), ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs']);
    if (refused) {
      console.log(`cross-device case skipped: ${refused}`);
      return ctx.skip();
    }
    const first = ok(await p.run());
    expect(count(first.stderr, /cannot hardlink between \.pipe\/cache and an output on another filesystem/)).toBe(1);
    expect(sameInode(p.path('out/big.bin'), objectOf(p, 'out/big.bin'))).toBe(false);
    expect(mode(p, 'out/big.bin')).toBe(0o644); // a copy stays writable
    const bytes = contents(p);
    ok(await p.run('--set', 'v=two'));
    const back = ok(await p.run());
    expect(statuses(back)).toEqual({ make: 'restored' });
    expect(count(back.stderr, /another filesystem/)).toBe(1);
    expect(contents(p)).toEqual(bytes);
  });

  test('reflink falls back to a copy, said once', async (ctx) => {
    const p = project(pipeline('reflink'));
    const refused = mounted(p.path('out'), ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs']);
    if (refused) {
      console.log(`cross-device case skipped: ${refused}`);
      return ctx.skip();
    }
    const first = ok(await p.run());
    expect(count(first.stderr, /cannot clone between \.pipe\/cache and an output on another filesystem/)).toBe(1);
    expect(storedObjects(p).has(contents(p)['out/big.bin']!)).toBe(true);
  });
});

describe('the key in pipeline.yaml', () => {
  test('a misspelt mode is refused at its line with a suggestion (exit 2)', async () => {
    const p = project(pipeline('hardlinks'));
    const r: PipeResult = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:4:9: cache\.link: expected one of reflink, hardlink, copy, got 'hardlinks' \(did you mean 'hardlink'\?\)/);
    expect(r.stderr).not.toMatch(/    at /);
  });
});
