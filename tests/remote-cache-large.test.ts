/**
 * A large blob (>= 32 MB) from the team cache takes the fast path: read by the socket straight into the
 * download's buffers, hashed on two worker threads, and the output written in the same pass as the store's
 * copy. Against a real nginx on loopback, through the bundled CLI: restored byte-identical; a blob altered
 * on the server (same size, one byte) is caught; a connection dropped mid-body resumes with Range.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, statuses, summary, type TestProject } from './helpers/pipe-project.js';
import { freePort, startNginx, type Nginx } from './helpers/nginx.js';

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

async function uploaded(tag: string): Promise<{ a: TestProject; blob: string }> {
  const a = project(pipeline(tag));
  const r = ok(await a.pipe(['run', '--remote-cache', nginx.url]));
  expect(summary(r)?.remote).toMatchObject({ uploaded: 1 });
  const blob = sha(a.path('big.txt'));
  expect(statSync(a.path('big.txt')).size).toBeGreaterThan(32 << 20);
  return { a, blob };
}

describe('a large blob from the team cache', () => {
  test('is restored byte-identical, into the output and into the local cache, with a mode of its own', async () => {
    const { blob } = await uploaded('restored');
    const b = project(pipeline('restored'));
    const r = ok(await b.pipe(['run', '--remote-cache', nginx.url]));
    expect(statuses(r)).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);
    expect(statSync(b.path('big.txt')).mode & 0o777).toBe(0o644);
    // the local cache holds it too: removed from the workspace, it comes back without the team cache
    rmSync(b.path('big.txt'));
    const again = ok(await b.pipe(['run']));
    expect(statuses(again)).toEqual({ big: 'restored' });
    expect(sha(b.path('big.txt'))).toBe(blob);
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
