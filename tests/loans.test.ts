/**
 * Objects on loan (src/state/loans.ts): a file output written once and noted by the store in place of a copy.
 * The note stands for the object only while the file is untouched (device, inode, size, mtime and ctime to
 * the nanosecond), never leads outside the project, and pipe's own moves take the file into the store.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatCache } from '../src/hash/index.js';
import type { PathHash } from '../src/hash/types.js';
import { ObjectStore } from '../src/state/objects.js';

let root: string;
let store: ObjectStore;
let hasher: StatCache;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipe-loans-test-'));
  store = new ObjectStore(path.join(root, '.pipe/cache'), { root });
  hasher = new StatCache(path.join(root, '.pipe/stat-cache'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const BIG = 17 << 20; // above the size from which restores are lent
const blobPath = (hash: string) => path.join(root, '.pipe/cache/objects', hash.slice(0, 2), hash.slice(2));
const notes = () => (existsSync(path.join(root, '.pipe/cache/lent')) ? readdirSync(path.join(root, '.pipe/cache/lent')) : []);

/** A file output "downloaded" into a temp beside `rel`, then lent to the store as a restore does. */
async function lent(rel: string, fill = 7): Promise<{ abs: string; h: PathHash; bytes: Buffer }> {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  const bytes = Buffer.alloc(BIG, fill);
  const tmp = `${abs}.download`;
  writeFileSync(tmp, bytes);
  const h = await new StatCache(path.join(root, '.pipe/other-stat-cache')).hash(tmp);
  expect(store.lends(h)).toBe(true);
  await store.lend(h, tmp, abs);
  return { abs, h, bytes };
}

describe('an object on loan', () => {
  it('is in the store while its output is untouched, without a copy of its bytes', async () => {
    const { abs, h } = await lent('out/big.bin');
    expect(await store.has(h)).toBe(true);
    expect(existsSync(blobPath(h.hash))).toBe(false);
    expect(notes()).toEqual([h.hash]);
    expect((await hasher.hash(abs)).hash).toBe(h.hash);
  });

  it('is gone once the output is edited in place, even with the same size and its mtime put back', async () => {
    const { abs, h } = await lent('out/big.bin');
    const before = statSync(abs, { bigint: true });
    const fd = openSync(abs, 'r+');
    writeSync(fd, 'X', 12345);
    closeSync(fd);
    // the mtime put back to the nanosecond (GNU touch): only the ctime tells
    const ns = before.mtimeNs;
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, abs]);
    expect(statSync(abs, { bigint: true }).mtimeNs).toBe(before.mtimeNs);
    expect(await store.has(h)).toBe(false);
    // a restore elsewhere cannot take the edited bytes for the object
    await expect(store.restore(h, path.join(root, 'out/other.bin'))).rejects.toThrow(/not in the cache/);
    expect(existsSync(path.join(root, 'out/other.bin'))).toBe(false);
    expect(readFileSync(abs)[12345]).toBe(0x58); // the user's edit is left alone
  });

  it('gives its bytes to a restore elsewhere (a copy into the store first), and restoring it in place does nothing', async () => {
    const { abs, h, bytes } = await lent('out/big.bin');
    const inode = statSync(abs).ino;
    await store.restore(h, abs);
    expect(statSync(abs).ino).toBe(inode);
    const other = path.join(root, 'out/other.bin');
    await store.restore(h, other);
    expect(readFileSync(other).equals(bytes)).toBe(true);
    expect(readFileSync(blobPath(h.hash)).equals(bytes)).toBe(true);
    expect(notes()).toEqual([]);
  });

  it('is taken into the store by a rename before pipe moves or replaces its output', async () => {
    const { abs, h, bytes } = await lent('out/big.bin');
    const inode = statSync(abs).ino;
    expect(await store.takeLent(abs)).toBe(true);
    expect(existsSync(abs)).toBe(false);
    expect(statSync(blobPath(h.hash)).ino).toBe(inode);
    expect(statSync(blobPath(h.hash)).mode & 0o777).toBe(0o444);
    expect(notes()).toEqual([]);
    await store.restore(h, abs);
    expect(readFileSync(abs).equals(bytes)).toBe(true);
    // another object restored over a lent output: the lent one is kept too
    const second = await lent('out/second.bin', 9);
    await store.restore(h, second.abs);
    expect(readFileSync(second.abs).equals(bytes)).toBe(true);
    expect(await store.has(second.h)).toBe(true);
    expect(readFileSync(blobPath(second.h.hash)).equals(second.bytes)).toBe(true);
  });

  it('stays in place, on loan, when a restore over it cannot be made (the object asked for is not here)', async () => {
    const { abs, h } = await lent('out/big.bin');
    const absent: PathHash = { kind: 'file', hash: 'ab'.repeat(16), size: 5 };
    await expect(store.restore(absent, abs)).rejects.toThrow(/not in the cache/);
    expect(existsSync(abs)).toBe(true);
    expect(notes()).toEqual([h.hash]);
    expect(await store.has(h)).toBe(true);
  });

  it('gets bytes of its own before a persist stage writes into its output (detach)', async () => {
    const { abs, h, bytes } = await lent('out/big.bin');
    await store.detach(h, abs);
    writeFileSync(abs, 'appended', { flag: 'a' });
    expect(await store.has(h)).toBe(true);
    expect(readFileSync(blobPath(h.hash)).equals(bytes)).toBe(true);
  });

  it('never stands for a file outside the project: a note with .. or through a folder linked out is ignored', async () => {
    const { h } = await lent('out/big.bin');
    const outside = mkdtempSync(path.join(tmpdir(), 'pipe-loans-outside-'));
    try {
      writeFileSync(path.join(outside, 'big.bin'), Buffer.alloc(BIG, 7));
      const st = statSync(path.join(outside, 'big.bin'), { bigint: true });
      const note = (p: string) => JSON.stringify({ path: p, dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) });
      symlinkSync(outside, path.join(root, 'linked'));
      for (const p of [path.relative(root, path.join(outside, 'big.bin')), 'linked/big.bin', path.join(outside, 'big.bin')]) {
        writeFileSync(path.join(root, '.pipe/cache/lent', h.hash), note(p));
        const fresh = new ObjectStore(path.join(root, '.pipe/cache'), { root });
        expect(await fresh.has(h)).toBe(false);
      }
      for (const garbage of ['', '{', '[]', '{"path":"out/big.bin"}']) {
        writeFileSync(path.join(root, '.pipe/cache/lent', h.hash), garbage);
        expect(await new ObjectStore(path.join(root, '.pipe/cache'), { root }).has(h)).toBe(false);
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('gc drops the note of an object nothing refers to, or whose output was edited; never the output', async () => {
    const kept = await lent('out/kept.bin', 1);
    const dead = await lent('out/dead.bin', 2);
    const edited = await lent('out/edited.bin', 3);
    writeFileSync(edited.abs, 'changed', { flag: 'a' });
    store.gc([kept.h, edited.h]);
    expect(notes()).toEqual([kept.h.hash]);
    for (const f of [kept.abs, dead.abs, edited.abs]) expect(existsSync(f)).toBe(true);
  });

  it('is not made where cache.link asks for copies or links: the store gets the bytes as before', async () => {
    for (const link of ['copy', 'hardlink', 'reflink'] as const) {
      const other = new ObjectStore(path.join(root, `.pipe/cache-${link}`), { root, link });
      expect(other.lends({ kind: 'file', hash: 'ab'.repeat(16), size: BIG })).toBe(false);
    }
    expect(new ObjectStore(path.join(root, '.pipe/cache-x')).lends({ kind: 'file', hash: 'ab'.repeat(16), size: BIG })).toBe(false);
    expect(store.lends({ kind: 'file', hash: 'ab'.repeat(16), size: 1000 })).toBe(false);
  });
});
