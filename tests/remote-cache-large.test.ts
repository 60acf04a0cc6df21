/**
 * A large blob (>= 32 MB) from the team cache takes the fast path: read by the socket straight into the
 * download's buffers, hashed on two worker threads, and the output written in the same pass as the store's
 * copy, or with the default `cache.link` written once and lent to the store (src/state/loans.ts). Against a
 * real nginx on loopback, through the bundled CLI: restored byte-identical and written once; a lent object kept
 * by `pipe clean` and a rerun, never taken from an edited output; a blob altered on the server (same size,
 * one byte) is caught; a connection dropped mid-body resumes with Range.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, stageEvents, statuses, summary, type TestProject } from './helpers/pipe-project.js';
import { freePort, startNginx, type Nginx } from './helpers/nginx.js';
import { signRecord, type RemoteRecord } from '../src/remote/record.js';

const project = projectsRemovedAfterAll();

/** about 47 MB, the same bytes on every run of one test (each test its own, so that each uploads) */
const pipeline = (tag: string) => `version: 1
stages:
  big:
    cmd: sh -c 'echo ${tag} > big.txt && seq 1 6000000 >> big.txt'
    outs: [big.txt]
`;

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.stop();
});

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** the files of a project's local store holding more than a megabyte (the large output's bytes, if stored) */
const storedBlobs = (p: TestProject) => {
  const dir = p.path('.pipe/cache/objects');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f))).filter((f) => statSync(f).isFile() && statSync(f).size > 1 << 20) : [];
};

async function uploaded(tag: string): Promise<{ a: TestProject; blob: string }> {
  const a = project(pipeline(tag));
  const r = ok(await a.pipe(['run', '--remote-cache', nginx.url]));
  expect(summary(r)?.remote).toMatchObject({ uploaded: 1 });
  const blob = sha(a.path('big.txt'));
  expect(statSync(a.path('big.txt')).size).toBeGreaterThan(32 << 20);
  return { a, blob };
}

describe('a large blob from the team cache', () => {
  test('is restored byte-identical and written once: the output holds the object, on loan to the local cache', async () => {
    const { blob } = await uploaded('restored');
    const b = project(pipeline('restored'));
    const r = ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);
    expect(statSync(b.path('big.txt')).mode & 0o777).toBe(0o644);
    expect(statSync(b.path('big.txt')).nlink).toBe(1);
    // no second copy of its bytes in the store: a note of the output instead
    expect(storedBlobs(b)).toEqual([]);
    expect(readdirSync(b.path('.pipe/cache/lent'))).toHaveLength(1);
  });

  test('an object on loan is kept by what pipe itself does: `pipe clean`, a rerun, then back, all without the team cache', async () => {
    const { blob } = await uploaded('kept');
    const b = project(pipeline('kept'));
    ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    const inode = statSync(b.path('big.txt')).ino;
    // pipe clean takes the file into the store by a rename (the same inode), not a copy and not away
    ok(await b.pipe(['clean', 'big']));
    expect(storedBlobs(b).map((f) => statSync(f).ino)).toEqual([inode]);
    const back = ok(await b.pipe(['run']));
    expect(statuses(back)).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);

    // restored from the team cache again (a fresh copy B2), then a changed command: the lent output goes into
    // the store before the stage runs, and reverting the command restores it with no team cache
    const c = project(pipeline('kept'));
    ok(await c.pipe(['run', '--remote-cache', nginx.url]));
    expect(storedBlobs(c)).toEqual([]);
    c.write('pipeline.yaml', pipeline('kept').replace("echo kept", "echo other"));
    expect(statuses(ok(await c.pipe(['run'])))).toEqual({ big: 'ran' });
    c.write('pipeline.yaml', pipeline('kept'));
    expect(statuses(ok(await c.pipe(['run'])))).toEqual({ big: 'restored' });
    expect(sha(c.path('big.txt'))).toBe(blob);
  });

  test('an object on loan whose output was edited in place (same size, mtime put back) is never restored from it', async () => {
    const { blob } = await uploaded('edited');
    const b = project(pipeline('edited'));
    ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    const file = b.path('big.txt');
    const before = statSync(file);
    const fd = openSync(file, 'r+');
    writeSync(fd, 'X', 1000);
    closeSync(fd);
    utimesSync(file, before.atime, before.mtime);
    // a rerun moves the output away: the edited file is no longer the object, so it is not taken into the store as it
    b.write('pipeline.yaml', pipeline('edited').replace('echo edited', 'echo other'));
    expect(statuses(ok(await b.pipe(['run'])))).toEqual({ big: 'ran' });
    expect(storedBlobs(b).map(sha)).not.toContain(blob);
    // back to the first command, without the team cache: the object is not here, so the stage runs (right bytes)
    b.write('pipeline.yaml', pipeline('edited'));
    expect(statuses(ok(await b.pipe(['run'])))).toEqual({ big: 'ran' });
    expect(sha(file)).toBe(blob);
  });

  test('an output on loan edited by hand comes back from the team cache (the local cache no longer has it)', async () => {
    const { blob } = await uploaded('again');
    const b = project(pipeline('again'));
    ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    writeFileSync(b.path('big.txt'), 'edited by hand\n', { flag: 'a' });
    const r = ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(summary(r)?.remote).toMatchObject({ hits: 1 });
    expect(sha(b.path('big.txt'))).toBe(blob);
  });

  test('with `cache.link: copy` the local cache keeps a copy of its own, as asked', async () => {
    const { blob } = await uploaded('copied');
    const b = project(pipeline('copied') + 'cache:\n  link: copy\n');
    ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    expect(storedBlobs(b)).toHaveLength(1);
    rmSync(b.path('big.txt'));
    expect(statuses(ok(await b.pipe(['run'])))).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);
  });

  test.each([
    ['at another size', (f: string) => writeFileSync(f, 'damage\n', { flag: 'a' })],
    ['at the same size (one byte)', (f: string) => {
      const fd = openSync(f, 'r+');
      writeSync(fd, 'X', 5000);
      closeSync(fd);
    }],
  ])('a local copy damaged %s is dropped and the output restored from the team cache, not rerun', async (_how, damage) => {
    const tag = `damaged${_how.length}`;
    const { blob } = await uploaded(tag);
    const b = project(pipeline(tag) + 'cache:\n  link: copy\n');
    ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    const [stored] = storedBlobs(b);
    chmodSync(stored!, 0o644);
    damage(stored!);
    rmSync(b.path('big.txt'));
    const r = ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(stageEvents(r).big).toMatchObject({ from: 'remote' });
    expect(sha(b.path('big.txt'))).toBe(blob);
    // the store holds the right bytes again: restored without the team cache next time
    rmSync(b.path('big.txt'));
    expect(statuses(ok(await b.pipe(['run'])))).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);
  });

  test('with a secret, a signed record names the local digest: taken as given, while the SHA-256 is still checked', async () => {
    const secret = { PIPE_REMOTE_CACHE_SECRET: 'team-secret-large-1' };
    const a = project(pipeline('signed'));
    ok(await a.pipe(['run', '--remote-cache', nginx.url], { env: secret }));
    const blob = sha(a.path('big.txt'));
    // a record signed by a holder of the secret that names another local digest for the same bytes: with the
    // secret it is believed (nothing recomputes xxh128), without it the download is checked against it and refused
    const acDir = nginx.file('ac');
    const key = readdirSync(acDir).find((k) => (JSON.parse(readFileSync(path.join(acDir, k), 'utf8')) as RemoteRecord).blobs && readFileSync(path.join(acDir, k), 'utf8').includes(blob))!;
    const record = JSON.parse(readFileSync(path.join(acDir, key), 'utf8')) as RemoteRecord;
    const real = record.outs[0]!.hash;
    const named = 'f'.repeat(real.length);
    const { sig: _sig, ...body } = record;
    const renamed = JSON.parse(JSON.stringify(body).replaceAll(real, named)) as Omit<RemoteRecord, 'sig'>;
    writeFileSync(path.join(acDir, key), JSON.stringify(signRecord(renamed, secret.PIPE_REMOTE_CACHE_SECRET)));

    const trusting = project(pipeline('signed'));
    const r = ok(await trusting.pipe(['run', '--remote-cache', nginx.url], { env: secret }));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(sha(trusting.path('big.txt'))).toBe(blob);
    expect(readdirSync(trusting.path('.pipe/cache/lent'))).toEqual([named]);

    const checking = project(pipeline('signed'));
    const refused = ok(await checking.pipe(['run', '--remote-cache', nginx.url]));
    expect(statuses(refused)).toEqual({ big: 'ran' });
    expect(refused.stderr).toMatch(/does not match its hash after download/);

    // the SHA-256 stays checked with the secret: one byte altered on the server is refused
    const file = nginx.file(`cas/${blob}`);
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[7] ^= 0xff;
    writeFileSync(file, bad);
    try {
      const c = project(pipeline('signed'));
      const altered = ok(await c.pipe(['run', '--remote-cache', nginx.url], { env: secret }));
      expect(altered.stderr).toMatch(/does not match its SHA-256/);
      expect(statuses(altered)).toEqual({ big: 'ran' });
      expect(sha(c.path('big.txt'))).toBe(blob);
    } finally {
      writeFileSync(file, good);
    }
  });

  test('altered on the server (one byte, same size): refused, the stage runs locally, correct output', async () => {
    const { blob } = await uploaded('altered');
    const file = nginx.file(`cas/${blob}`);
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff;
    writeFileSync(file, bad);
    try {
      const b = project(pipeline('altered'));
      const r = ok(await b.pipe(['run', '--remote-cache', nginx.url]));
      expect(r.stderr).toMatch(/does not match its SHA-256 \(altered on the server\?\)/);
      expect(statuses(r)).toEqual({ big: 'ran' });
      expect(sha(b.path('big.txt'))).toBe(blob);
    } finally {
      writeFileSync(file, good);
    }
  });
});

describe('a large blob whose connection drops mid-body (a proxy in front of nginx)', () => {
  let proxy: { server: Server; url: string; hits: number; ranges: string[] };
  beforeAll(async () => {
    const port = await freePort();
    proxy = { server: createServer(), url: `http://127.0.0.1:${port}/pipe`, hits: 0, ranges: [] };
    proxy.server.on('request', (req, res) => {
      const isBlob = req.method === 'GET' && req.url!.includes('/cas/');
      if (isBlob) {
        proxy.hits++;
        if (req.headers.range) proxy.ranges.push(req.headers.range);
      }
      const up = request({ host: '127.0.0.1', port: nginx.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        if (!isBlob || proxy.hits > 1) return void r.pipe(res);
        // the first blob GET: 10 MB of the body, then the connection drops
        let sent = 0;
        r.on('data', (c: Buffer) => {
          if (sent >= 10 << 20) return;
          sent += c.length;
          res.write(c, () => {
            if (sent >= 10 << 20) res.socket?.destroy();
          });
        });
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => { proxy.server.closeAllConnections(); proxy.server.close(() => resolve()); }));

  test('is resumed with Range from the bytes on disk, and restored byte-identical', async () => {
    const { blob } = await uploaded('dropped');
    const b = project(pipeline('dropped'));
    const r = ok(await b.pipe(['run', '--remote-cache', proxy.url]));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(proxy.hits).toBe(2);
    expect(proxy.ranges).toEqual([expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(Number(/^bytes=(\d+)-$/.exec(proxy.ranges[0]!)![1])).toBeGreaterThanOrEqual(4 << 20);
    expect(sha(b.path('big.txt'))).toBe(blob);
  });
});
