/**
 * The team cache against a real nginx (WebDAV) on loopback, through the bundled CLI: project A runs and
 * uploads; a `git clone` B of A runs nothing and gets byte-identical outputs; what the server hands back
 * altered, swapped, unsigned, truncated, late or not at all is detected and B runs locally, exit 0.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, stageEvents, statuses, summary, TestProject } from './helpers/pipe-project.js';
import { freePort, nginxForThisFile, startNginx, teamCachePipeline } from './helpers/nginx.js';

const project = projectsRemovedAfterAll();

const PIPELINE = teamCachePipeline(true);

const currentNginx = nginxForThisFile();

/** A project in git, run once with the team cache so that it uploads. */
async function projectA(url: string, env: Record<string, string> = {}): Promise<TestProject> {
  const a = project(PIPELINE, { 'input.txt': `input ${Math.random()}\n`, '.gitignore': 'ran.log\ndata/\ncount.txt\nfinal.txt\n' });
  await execa('git', ['init', '-q'], { cwd: a.dir });
  await execa('git', ['add', '-A'], { cwd: a.dir });
  await execa('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'a'], { cwd: a.dir });
  const r = ok(await a.pipe(['run', '--remote-cache', url], { env }));
  expect(Object.values(statuses(r))).toEqual(['ran', 'ran', 'ran']);
  expect(summary(r)?.remote).toMatchObject({ uploaded: 3 });
  return a;
}

async function cloneOf(a: TestProject): Promise<TestProject> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-clone-'));
  await execa('git', ['clone', '-q', a.dir, dir]);
  const b = new TestProject(dir);
  cloned.push(b);
  return b;
}
const cloned: TestProject[] = [];
afterAll(() => cloned.forEach((p) => p.remove()));

function outputsOf(p: TestProject): Record<string, string> {
  const files = ['data/a.txt', 'data/big.bin', 'count.txt', 'final.txt'];
  return Object.fromEntries(files.map((f) => [f, createHash('sha256').update(readFileSync(p.path(f))).digest('hex')]));
}

/** key of each record on the server -> the stage it was written for */
function recordsOnServer(): string[] {
  return currentNginx().files('ac');
}

describe('the team cache over nginx', () => {
  test('a clone of A runs 0 stages: every output restored from the team cache, byte-identical, exec bit kept', async () => {
    const a = await projectA(currentNginx().url);
    const b = await cloneOf(a);
    const r = ok(await b.pipe(['run', '--remote-cache', currentNginx().url]));
    const events = stageEvents(r);
    expect(Object.values(events).map((e) => [e.status, e.from])).toEqual([['restored', 'remote'], ['restored', 'remote'], ['restored', 'remote']]);
    expect(summary(r)).toMatchObject({ ran: 0, restored: 3 });
    expect(b.exists('ran.log')).toBe(false);
    expect(outputsOf(b)).toEqual(outputsOf(a));
    expect(statSync(b.path('final.txt')).mode & 0o111).not.toBe(0);
    // now local: the next run is a no-op that asks nothing of the server
    const again = ok(await b.pipe(['run', '--remote-cache', currentNginx().url]));
    expect(Object.values(statuses(again))).toEqual(['skipped', 'skipped', 'skipped']);
    expect(summary(again)?.remote).toMatchObject({ lookups: 0 });
  });

  test('without the team cache the clone runs everything (the test would catch a cache that is not used)', async () => {
    const a = await projectA(currentNginx().url);
    const b = await cloneOf(a);
    const r = ok(await b.run());
    expect(Object.values(statuses(r))).toEqual(['ran', 'ran', 'ran']);
  });

  test('a blob altered on the server: that stage runs locally with a correct result, the others are restored', async () => {
    const a = await projectA(currentNginx().url);
    const blob = createHash('sha256').update(readFileSync(a.path('data/big.bin'))).digest('hex');
    writeFileSync(currentNginx().file(`cas/${blob}`), 'tampered\n');
    const b = await cloneOf(a);
    const r = ok(await b.pipe(['run', '--remote-cache', currentNginx().url]));
    expect(statuses(r)).toEqual({ gen: 'ran', count: 'restored', tail: 'restored' });
    expect(r.stderr).toMatch(/altered on the server/);
    expect(outputsOf(b)).toEqual(outputsOf(a));
    // B ran it and uploaded the blob again: the server holds the right bytes once more
    expect(createHash('sha256').update(readFileSync(currentNginx().file(`cas/${blob}`))).digest('hex')).toBe(blob);
  });

  test('small outputs travel inside their record (no request of their own); altered there, they are refused', async () => {
    const a = await projectA(currentNginx().url);
    const keys = keysOf(a);
    const record = JSON.parse(readFileSync(currentNginx().file(`ac/${keys.count}`), 'utf8')) as { inline: Record<string, string>; blobs: Record<string, { sha256: string }> };
    const sha = createHash('sha256').update(readFileSync(a.path('count.txt'))).digest('hex');
    expect(Buffer.from(record.inline[sha]!, 'base64').toString()).toBe(a.read('count.txt'));
    expect(currentNginx().files('cas')).not.toContain(sha);
    // altered consistently (content and its SHA-256): the local digest still catches it
    const forged = Buffer.from('forged\n');
    const forgedSha = createHash('sha256').update(forged).digest('hex');
    for (const blob of Object.values(record.blobs)) if (blob.sha256 === sha) Object.assign(blob, { sha256: forgedSha, size: forged.length });
    record.inline = { [forgedSha]: forged.toString('base64') };
    writeFileSync(currentNginx().file(`ac/${keys.count}`), JSON.stringify(record));
    const b = await cloneOf(a);
    const r = ok(await b.pipe(['run', '--remote-cache', currentNginx().url]));
    expect(statuses(r)).toEqual({ gen: 'restored', count: 'ran', tail: 'restored' });
    expect(b.read('count.txt')).toBe(a.read('count.txt'));
  });

  test('two records swapped on the server are both refused and counted; their stages run', async () => {
    const a = await projectA(currentNginx().url);
    const keys = keysOf(a);
    const [k1, k2] = [keys.gen!, keys.count!];
    const f1 = currentNginx().file(`ac/${k1}`);
    const f2 = currentNginx().file(`ac/${k2}`);
    renameSync(f1, `${f1}.x`);
    renameSync(f2, f1);
    renameSync(`${f1}.x`, f2);
    const b = await cloneOf(a);
    const r = ok(await b.pipe(['run', '--remote-cache', currentNginx().url]));
    expect(statuses(r)).toEqual({ gen: 'ran', count: 'ran', tail: 'restored' });
    expect(summary(r)?.remote).toMatchObject({ refused: 2, refusedBy: { 'other-key': 2 } });
    expect(outputsOf(b)['data/a.txt']).toBe(outputsOf(a)['data/a.txt']);
  });

  test('with PIPE_REMOTE_CACHE_SECRET: signed records are used, unsigned and other-key ones refused', async () => {
    const secret = { PIPE_REMOTE_CACHE_SECRET: 'team-secret-1234' };
    const signed = await projectA(currentNginx().url, secret);
    const b = await cloneOf(signed);
    const r = ok(await b.pipe(['run', '--remote-cache', currentNginx().url], { env: secret }));
    expect(summary(r)).toMatchObject({ ran: 0, restored: 3 });

    const unsigned = await projectA(currentNginx().url);
    const c = await cloneOf(unsigned);
    const refused = ok(await c.pipe(['run', '--remote-cache', currentNginx().url], { env: secret }));
    expect(summary(refused)).toMatchObject({ ran: 3, restored: 0, remote: { refusedBy: { unsigned: 3 } } });
    const d = await cloneOf(signed);
    const other = ok(await d.pipe(['run', '--remote-cache', currentNginx().url], { env: { PIPE_REMOTE_CACHE_SECRET: 'another-secret-99' } }));
    expect(summary(other)).toMatchObject({ ran: 3, remote: { refusedBy: { 'bad-signature': 3 } } });
  });

  test('remote_cache: in pipeline.yaml is used; one with user:password in it is refused at its line', async () => {
    const a = await projectA(currentNginx().url);
    const b = await cloneOf(a);
    b.write('pipeline.yaml', `remote_cache: {url: "${currentNginx().url}", read_only: true}\n${b.read('pipeline.yaml')}`);
    const r = ok(await b.run());
    expect(summary(r)).toMatchObject({ ran: 0, restored: 3, remote: { uploaded: 0 } });
    const bad = project(`remote_cache: http://bob:pw123456@127.0.0.1:1/pipe\n${PIPELINE}`);
    const v = await bad.pipe(['validate'], { json: false });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/pipeline\.yaml:1:\d+/);
    expect(v.stderr + v.stdout).not.toContain('pw123456');
  });

  test('a read-only client restores but uploads nothing', async () => {
    const before = recordsOnServer().length;
    const p = project(PIPELINE, { 'input.txt': `ro ${Math.random()}\n` });
    const r = ok(await p.pipe(['run', '--remote-cache', currentNginx().url, '--remote-cache-read-only']));
    expect(summary(r)).toMatchObject({ ran: 3, remote: { uploaded: 0 } });
    expect(recordsOnServer().length).toBe(before);
    const viaEnv = project(PIPELINE, { 'input.txt': `ro2 ${Math.random()}\n` });
    ok(await viaEnv.pipe(['run'], { env: { PIPE_REMOTE_CACHE: currentNginx().url, PIPE_REMOTE_CACHE_READ_ONLY: '1' } }));
    expect(recordsOnServer().length).toBe(before);
  });

  test('user:password in the URL and the bearer token appear in nothing pipe prints or stores', async () => {
    const password = 'hunter2-very-secret';
    const token = 'tok-abcdef-123456';
    const url = currentNginx().url.replace('http://', `http://alice:${password}@`);
    const p = project(PIPELINE, { 'input.txt': `cred ${Math.random()}\n` });
    const r = ok(await p.pipe(['run', '-v', '--remote-cache', url], { env: { PIPE_REMOTE_CACHE_TOKEN: token } }));
    expect(summary(r)?.remote).toMatchObject({ uploaded: 3, url: currentNginx().url });
    const failing = await p.pipe(['run', '-v', '--force', '--remote-cache', url.replace(String(currentNginx().port), '1')], { env: { PIPE_REMOTE_CACHE_TOKEN: token } });
    for (const text of [r.stdout, r.stderr, failing.stdout, failing.stderr, ...filesUnder(p.path('.pipe'))]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(token);
    }
    expect(failing.code).toBe(0);
  });

  test('the server stopped mid-run: one warning, the run carries on locally and ends 0', async () => {
    const own = await startNginx();
    const p = project(`version: 1
stages:
  first:
    cmd: sh -c 'kill -QUIT ${own.pid}; echo 1 > one.txt'
    outs: [one.txt]
  second:
    cmd: sh -c 'cat one.txt > two.txt'
    deps: [one.txt]
    outs: [two.txt]
`);
    try {
      const r = ok(await p.pipe(['run', '--remote-cache', own.url]));
      expect(statuses(r)).toEqual({ first: 'ran', second: 'ran' });
      expect(r.stderr.match(/team cache .* is not usable/g)?.length).toBe(1);
      expect(p.read('two.txt')).toBe('1\n');
    } finally {
      await own.stop();
    }
  });
});

describe('faults between pipe and the server (a proxy in front of nginx)', () => {
  type Mode = 'truncate' | 'corrupt' | 'stall' | 'fail' | 'reset' | 'drop-once';
  let proxy: { server: Server; url: string; mode: Mode; hits: number; ranges: string[] };

  beforeAll(async () => {
    const port = await freePort();
    proxy = { server: createServer(), url: `http://127.0.0.1:${port}/pipe`, mode: 'fail', hits: 0, ranges: [] };
    proxy.server.on('request', (req, res) => {
      const isBlob = req.method === 'GET' && req.url!.includes('/cas/');
      if (!isBlob || proxy.mode === undefined) return forward(req, res);
      proxy.hits++;
      if (req.headers.range) proxy.ranges.push(req.headers.range);
      if (proxy.mode === 'fail') return void res.writeHead(503).end('busy');
      if (proxy.mode === 'drop-once' && proxy.hits > 1) return forward(req, res);
      const upstream = request({ host: '127.0.0.1', port: currentNginx().port, path: req.url, method: 'GET', headers: { range: req.headers.range ?? '' } }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          res.writeHead(up.statusCode!, { 'content-length': String(body.length) });
          if (proxy.mode === 'truncate') return res.end(body.subarray(0, body.length >> 1)), res.socket?.destroy();
          if (proxy.mode === 'reset') return res.write(body.subarray(0, 10)), res.socket?.destroy();
          if (proxy.mode === 'stall') return res.write(body.subarray(0, 10)); // then nothing, ever
          if (proxy.mode === 'drop-once') return res.write(body.subarray(0, 100_000), () => res.socket?.destroy());
          body[body.length >> 1] ^= 0xff;
          res.end(body);
        });
      });
      upstream.end();
    });
    await new Promise<void>((resolve) => proxy.server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => { proxy.server.closeAllConnections(); proxy.server.close(() => resolve()); }));

  function forward(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const up = request({ host: '127.0.0.1', port: currentNginx().port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  }

  for (const mode of ['truncate', 'corrupt', 'stall', 'fail', 'reset'] as Mode[]) {
    test(`blobs ${mode}: detected, bounded retries, the stages run locally, exit 0, correct outputs`, async () => {
      const a = await projectA(currentNginx().url);
      const b = await cloneOf(a);
      proxy.mode = mode;
      proxy.hits = 0;
      const started = Date.now();
      const r = ok(await b.pipe(['run', '--remote-cache', proxy.url], { env: { PIPE_REMOTE_CACHE_STALL_MS: '300' }, timeoutMs: 20_000 }));
      expect(Date.now() - started).toBeLessThan(30_000);
      // the large blob of `gen` goes through the proxy; the small outputs of the others travel in their records,
      // fetched (and checked) while planning, before the fault: they are restored without another request
      expect(statuses(r)).toEqual({ gen: 'ran', count: 'restored', tail: 'restored' });
      expect(outputsOf(b)).toEqual(outputsOf(a));
      expect(proxy.hits).toBeGreaterThan(0);
      expect(proxy.hits).toBeLessThanOrEqual(12);
    });
  }

  test('a blob whose connection drops mid-body is resumed with Range from the bytes on disk, and restored', async () => {
    const a = await projectA(currentNginx().url);
    const b = await cloneOf(a);
    proxy.mode = 'drop-once';
    proxy.hits = 0;
    proxy.ranges = [];
    const r = ok(await b.pipe(['run', '--remote-cache', proxy.url]));
    expect(statuses(r)).toEqual({ gen: 'restored', count: 'restored', tail: 'restored' });
    expect(proxy.hits).toBe(2);
    expect(proxy.ranges).toEqual([expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(outputsOf(b)).toEqual(outputsOf(a));
  });
});

function keysOf(p: TestProject): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const line of readFileSync(p.path('.pipe/state.log'), 'utf8').split('\n')) {
    const s = line.length > 9 ? (JSON.parse(line.slice(9)) as { s?: { name: string; key: string } }).s : undefined;
    if (s) keys[s.name] = s.key;
  }
  return keys;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(readFileSync(p, 'latin1'));
  }
  return out;
}
