import { chmodSync, closeSync, existsSync, openSync, writeSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatCache, digestBytes } from '../src/hash/index.js';
import { ObjectStore } from '../src/state/objects.js';

let root: string;
let store: ObjectStore;
let hasher: StatCache;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipe-objects-test-'));
  store = new ObjectStore(path.join(root, '.pipe/cache'));
  hasher = new StatCache(path.join(root, '.pipe/stat-cache'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, content: string, mode = 0o644): string {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
  return abs;
}
const mode = (p: string) => statSync(p).mode & 0o777;
const blobPath = (hash: string) => path.join(root, '.pipe/cache/objects', hash.slice(0, 2), hash.slice(2));
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();

describe('ObjectStore', () => {
  it('round-trips a file with its exec bit; the stored blob is a read-only copy', async () => {
    const out = write('out/tool.sh', '#!/bin/sh\necho hi\n', 0o755);
    const h = await hasher.hash(out);
    expect(await store.has(h)).toBe(false);
    await store.put(out, h);
    expect(await store.has(h)).toBe(true);
    expect(mode(blobPath(h.hash))).toBe(0o444);
    const storedAt = statSync(blobPath(h.hash)).mtimeMs;
    await store.put(out, h);
    expect(statSync(blobPath(h.hash)).mtimeMs).toBe(storedAt);

    rmSync(out);
    await store.restore(h, out);
    expect(readFileSync(out, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(mode(out)).toBe(0o755);
  });

  it('round-trips a folder and replaces whatever is at the destination', async () => {
    write('model/config.json', '{}');
    write('model/weights/part-1.bin', 'w1');
    write('model/bin/run', 'run', 0o755);
    const dir = path.join(root, 'model');
    const h = await hasher.hash(dir);
    await store.put(dir, h);
    expect(await store.has(h)).toBe(true);

    write('model/stale-extra.txt', 'should vanish');
    writeFileSync(path.join(dir, 'config.json'), '{"edited":true}');
    await store.restore(h, dir);
    expect(listFiles(dir)).toEqual(['bin/run', 'config.json', 'weights/part-1.bin']);
    expect(readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe('{}');
    expect(mode(path.join(dir, 'bin/run'))).toBe(0o755);
    expect((await hasher.hash(dir)).hash).toBe(h.hash);

    // from the hash alone (the tree is read from the store), over a file that sits in its place
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'a file where the folder was');
    await store.restore({ kind: 'dir', hash: h.hash, size: h.size }, dir);
    expect(listFiles(dir)).toEqual(['bin/run', 'config.json', 'weights/part-1.bin']);
  });

  it('keeps the store intact when a restored file or the original output is edited in place', async () => {
    const out = write('out/audio.wav', 'original-bytes');
    const h = await hasher.hash(out);
    await store.put(out, h);

    writeFileSync(out, 'rerun truncates in place'); // like ffmpeg -y on the original output
    await store.restore(h, out);
    const fd = openSync(out, 'r+'); // an in-place edit: same inode, no truncation
    writeSync(fd, 'EDITED', 0);
    closeSync(fd);
    expect(readFileSync(out, 'utf8')).toBe('EDITEDal-bytes');

    expect(readFileSync(blobPath(h.hash), 'utf8')).toBe('original-bytes');
    await store.restore(h, out);
    expect(readFileSync(out, 'utf8')).toBe('original-bytes');
  });

  it('refuses to store an output that changed since it was hashed', async () => {
    const out = write('out/a.txt', 'first');
    const h = await hasher.hash(out);
    writeFileSync(out, 'second');
    await expect(store.put(out, h)).rejects.toThrow(/changed while/);
    expect(await store.has(h)).toBe(false);
    expect(readdirSync(path.dirname(blobPath(h.hash)))).toEqual([]);
  });

  it('never reports a partial object left by a crash as present', async () => {
    const out = write('out/big.txt', 'complete content');
    const h = await hasher.hash(out);
    const fanout = path.dirname(blobPath(h.hash));
    mkdirSync(fanout, { recursive: true });
    writeFileSync(path.join(fanout, `.${h.hash.slice(2)}.tmp-999-deadbeef`), 'compl');
    expect(await store.has(h)).toBe(false);
    await expect(store.restore(h, path.join(root, 'restored.txt'))).rejects.toThrow(/not in the cache/);
    await store.put(out, h);
    expect(await store.has(h)).toBe(true);
  });

  it('gc removes only objects unreachable from the live set, and stale temp files', async () => {
    write('keep/a.txt', 'shared');
    write('keep/b.txt', 'only-keep');
    const dropFile = write('drop.txt', 'only-drop');
    write('dropdir/x.txt', 'shared');
    write('dropdir/y.txt', 'only-dropdir!');
    const keep = await hasher.hash(path.join(root, 'keep'));
    const drop = await hasher.hash(dropFile);
    const dropDir = await hasher.hash(path.join(root, 'dropdir'));
    for (const [p, h] of [[path.join(root, 'keep'), keep], [dropFile, drop], [path.join(root, 'dropdir'), dropDir]] as const) {
      await store.put(p, h);
    }
    const fanout = path.dirname(blobPath(keep.hash));
    mkdirSync(fanout, { recursive: true });
    const freshTemp = path.join(fanout, '.aaaa.tmp-1-fresh');
    const staleTemp = path.join(fanout, '.bbbb.tmp-1-stale');
    writeFileSync(freshTemp, '12345');
    writeFileSync(staleTemp, '1234567');
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(staleTemp, longAgo, longAgo);

    const treeBytes = statSync(path.join(root, '.pipe/cache/trees', `${dropDir.hash}.json`)).size;
    const removed = store.gc([keep, { kind: 'missing', hash: '', size: 0 }]);
    expect(removed).toEqual({
      removedFiles: 4, // drop.txt blob, y.txt blob, dropdir tree, stale temp
      removedBytes: 'only-drop'.length + 'only-dropdir!'.length + treeBytes + 7,
      stillLinkedBytes: 0,
    });
    expect(await store.has(keep)).toBe(true);
    expect(await store.has(drop)).toBe(false);
    expect(await store.has(dropDir)).toBe(false);
    expect(existsSync(blobPath(digestBytes('shared')))).toBe(true);
    expect(existsSync(freshTemp)).toBe(true);
    expect(existsSync(staleTemp)).toBe(false);
  });
});
