import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIGEST_NAME, StatCache, digestBytes } from '../src/hash/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-hash-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A cache whose racy window is short, for tests that need trusted entries without waiting a second. */
const quickCache = (name = 'stat-cache') => new StatCache(path.join(dir, '.pipe', name), { racyWindowMs: 10 });
const SETTLE_MS = 40;

function write(rel: string, content: string | Buffer, mode = 0o644): string {
  const abs = path.join(dir, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
  return abs;
}

describe('digestBytes', () => {
  it('is canonical XXH3-128 and treats strings as UTF-8', () => {
    expect(DIGEST_NAME).toBe('xxh128');
    expect(digestBytes('')).toBe('99aa06d3014798d86001c324468d497f');
    expect(digestBytes('abc')).toBe('06b05ab6733a618578af5f94892f3950');
    expect(digestBytes(new TextEncoder().encode('héllo'))).toBe(digestBytes('héllo'));
  });
});

describe('StatCache.hash', () => {
  it('hashes small and multi-chunk files to the digest of their bytes', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const small = write('small.txt', 'hello\n');
    const large = write('large.bin', big, 0o755);
    const cache = quickCache();
    expect(await cache.hash(small)).toEqual({ kind: 'file', hash: digestBytes('hello\n'), size: 6, exec: false });
    expect(await cache.hash(large)).toEqual({ kind: 'file', hash: digestBytes(big), size: big.length, exec: true });
  });

  it('reports a missing path', async () => {
    expect(await quickCache().hash(path.join(dir, 'nope'))).toEqual({ kind: 'missing', hash: '', size: 0 });
  });

  it('hashes a folder over sorted POSIX relpaths, exec bits and contents', async () => {
    write('a/z.txt', 'z');
    write('a/sub/b.sh', 'echo', 0o755);
    write('a/B.txt', 'B');
    write('copy/z.txt', 'z');
    write('copy/sub/b.sh', 'echo', 0o755);
    write('copy/B.txt', 'B');
    const cache = quickCache();
    const a = await cache.hash(path.join(dir, 'a'));
    expect(a.kind).toBe('dir');
    expect(a.size).toBe(6);
    expect(a.entries).toEqual([
      { path: 'B.txt', hash: digestBytes('B'), size: 1, exec: false },
      { path: 'sub/b.sh', hash: digestBytes('echo'), size: 4, exec: true },
      { path: 'z.txt', hash: digestBytes('z'), size: 1, exec: false },
    ]);
    expect((await cache.hash(path.join(dir, 'copy'))).hash).toBe(a.hash);

    chmodSync(path.join(dir, 'copy/sub/b.sh'), 0o644);
    const noExec = await cache.hash(path.join(dir, 'copy'));
    expect(noExec.hash).not.toBe(a.hash);

    chmodSync(path.join(dir, 'copy/sub/b.sh'), 0o755);
    write('copy/z2.txt', 'z');
    rmSync(path.join(dir, 'copy/z.txt'));
    expect((await cache.hash(path.join(dir, 'copy'))).hash).not.toBe(a.hash);
  });

  it('follows symlinks like a Hugging Face snapshot and stops at link loops', async () => {
    const hub = 'hub/models--org--m';
    write(`${hub}/blobs/1111`, '{"x":1}');
    write(`${hub}/blobs/2222`, 'weights');
    mkdirSync(path.join(dir, hub, 'snapshots/abc/sub'), { recursive: true });
    symlinkSync('../../blobs/1111', path.join(dir, hub, 'snapshots/abc/config.json'));
    symlinkSync('../../../blobs/2222', path.join(dir, hub, 'snapshots/abc/sub/model.bin'));
    symlinkSync('..', path.join(dir, hub, 'snapshots/abc/sub/loop'));
    symlinkSync('missing-target', path.join(dir, hub, 'snapshots/abc/dangling'));
    write('plain/config.json', '{"x":1}');
    write('plain/sub/model.bin', 'weights');

    const cache = quickCache();
    const snap = await cache.hash(path.join(dir, hub, 'snapshots/abc'));
    expect(snap.entries?.map((e) => e.path)).toEqual(['config.json', 'sub/model.bin']);
    expect(snap.hash).toBe((await cache.hash(path.join(dir, 'plain'))).hash);
  });

  it('reads large files without blocking the event loop for long', async () => {
    const big = write('big.bin', Buffer.alloc(48 * 1024 * 1024, 7));
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    await quickCache().hash(big);
    clearInterval(timer);
    expect(longestGap).toBeLessThan(100);
  });
});

describe('StatCache reuse', () => {
  it('serves unchanged files and folders from the saved cache without reading them', async () => {
    for (let i = 0; i < 50; i++) write(`data/d${i % 5}/f${i}.txt`, `file ${i}`);
    const one = write('one.bin', 'payload');
    await sleep(SETTLE_MS);
    const first = quickCache();
    const folder = await first.hash(path.join(dir, 'data'));
    const file = await first.hash(one);
    expect(first.counters.filesRead).toBe(51);
    first.save();

    const second = quickCache();
    expect(second.peek(path.join(dir, 'data'))).toEqual(folder);
    expect(second.peek(one)).toEqual(file);
    expect(await second.hash(path.join(dir, 'data'))).toEqual(folder);
    expect(second.counters).toEqual({ filesRead: 0, bytesRead: 0 });
  });

  it('re-reads only what changed; a touch re-reads but keeps the hash', async () => {
    const a = write('d/a.txt', 'aaa');
    write('d/b.txt', 'bbb');
    await sleep(SETTLE_MS);
    const cache = quickCache();
    const before = await cache.hash(path.join(dir, 'd'));

    const future = new Date(Date.now() + 5000);
    utimesSync(a, future, future);
    await sleep(SETTLE_MS);
    expect(cache.peek(path.join(dir, 'd'))).toBeUndefined();
    const touched = await cache.hash(path.join(dir, 'd'));
    expect(touched.hash).toBe(before.hash);
    expect(cache.counters.filesRead).toBe(3);

    writeFileSync(a, 'AAAA');
    await sleep(SETTLE_MS);
    const changed = await cache.hash(path.join(dir, 'd'));
    expect(changed.hash).not.toBe(before.hash);
    expect(changed.entries?.[0]).toEqual({ path: 'a.txt', hash: digestBytes('AAAA'), size: 4, exec: false });
    expect(cache.counters.filesRead).toBe(4);
  });

  it('never trusts a racy hash: same size, same mtime, new content is seen', async () => {
    const cachePath = path.join(dir, '.pipe', 'stat-cache');
    const f = write('racy.txt', 'version-1');
    const { mtime } = statSync(f);
    const cache = new StatCache(cachePath); // default 1 s window
    expect((await cache.hash(f)).hash).toBe(digestBytes('version-1'));
    expect(cache.peek(f)).toBeUndefined(); // hashed within the window of its mtime: not trusted
    cache.save();

    writeFileSync(f, 'version-2');
    utimesSync(f, mtime, mtime);
    expect(cache.peek(f)).toBeUndefined();
    expect((await cache.hash(f)).hash).toBe(digestBytes('version-2'));
    expect((await new StatCache(cachePath).hash(f)).hash).toBe(digestBytes('version-2'));
  });

  it('a missing, corrupt or truncated cache file loads as empty', async () => {
    const f = write('x.txt', 'x');
    await sleep(SETTLE_MS);
    const cachePath = path.join(dir, '.pipe', 'stat-cache');
    const good = new StatCache(cachePath, { racyWindowMs: 10 });
    await good.hash(f);
    good.save();

    const cut = new StatCache(cachePath + '-cut', { racyWindowMs: 10 });
    writeFileSync(cachePath + '-cut', readFileSync(cachePath, 'utf8').slice(0, -5));
    expect(cut.peek(f)).toBeUndefined();

    writeFileSync(cachePath, '\u0000garbage{');
    const corrupt = new StatCache(cachePath, { racyWindowMs: 10 });
    expect(corrupt.peek(f)).toBeUndefined();
    expect((await corrupt.hash(f)).hash).toBe(digestBytes('x'));
    corrupt.save();
    expect(new StatCache(cachePath).peek(f)?.hash).toBe(digestBytes('x'));
    expect(readdirSync(path.join(dir, '.pipe')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('forgets a file that disappeared', async () => {
    const f = write('gone.txt', 'g');
    await sleep(SETTLE_MS);
    const cache = quickCache();
    await cache.hash(f);
    rmSync(f);
    expect(cache.peek(f)).toEqual({ kind: 'missing', hash: '', size: 0 });
    expect(await cache.hash(f)).toEqual({ kind: 'missing', hash: '', size: 0 });
  });
});
