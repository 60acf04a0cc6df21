import { mkdtemp, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type FetchContext, FetchError, checkFetched, fetchIdentity, pinManifest, resolveFetchContext, runFetch,
} from '../src/fetch/index.js';
import type { HfFetch, UrlFetch } from '../src/pipeline/types.js';
import { type HubServer, startHubServer } from './fixtures/hub-server.js';

const TOKEN = 'hf_PLANTEDsecretTOKEN0123456789';
const REPO = 'acme/tiny-model';
const FILES = [
  { path: 'config.json', size: 300 },
  { path: 'model.bin', size: 256 * 1024, lfs: true },
  { path: 'sub/dir/weights.safetensors', size: 64 * 1024, lfs: true },
  { path: 'tokenizer/vocab.txt', size: 2000 },
];

let hub: HubServer;
let root: string;
let logs: string[];

function context(over: Partial<FetchContext> = {}): FetchContext {
  return {
    root,
    hubCache: path.join(root, '.cache/huggingface/hub'),
    torchHome: path.join(root, '.cache/torch'),
    endpoint: hub.url,
    offline: false,
    signal: new AbortController().signal,
    retryBaseMs: 1,
    log: (line) => logs.push(line),
    ...over,
  };
}

const repoDir = () => path.join(root, '.cache/huggingface/hub/models--acme--tiny-model');
const spec = (over: Partial<HfFetch> = {}): HfFetch => ({ hf: REPO, revision: 'main', ...over });

async function rejection(p: Promise<unknown>): Promise<FetchError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FetchError);
  return err as FetchError;
}

async function listTree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

beforeEach(async () => {
  hub = await startHubServer({ repos: [{ id: REPO, files: FILES }], token: TOKEN, separateLfsOrigin: true });
  root = await mkdtemp(path.join(os.tmpdir(), 'pipe-fetch-'));
  logs = [];
});

afterEach(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

describe('Hugging Face snapshot', () => {
  it('lands the exact huggingface_hub layout: blobs by etag, relative snapshot links, refs/main', async () => {
    const result = await runFetch(spec(), context());
    const commit = hub.repo(REPO).refs.get('main')!;
    const files = hub.files(REPO);
    expect(result).toMatchObject({ commit, files: 4, bytes: files.reduce((s, f) => s + f.content.length, 0) });
    expect(result.downloaded).toBe(result.bytes);

    const etags = files.map((f) => (f.lfs ? f.sha256 : f.gitSha1)).sort();
    expect(await readdir(path.join(repoDir(), 'blobs'))).toEqual(etags);
    expect(await readFile(path.join(repoDir(), 'refs/main'), 'utf8')).toBe(commit);
    const snap = path.join(repoDir(), 'snapshots', commit);
    expect(await readlink(path.join(snap, 'config.json'))).toBe(`../../blobs/${files[0].gitSha1}`);
    expect(await readlink(path.join(snap, 'model.bin'))).toBe(`../../blobs/${files[1].sha256}`);
    expect(await readlink(path.join(snap, 'sub/dir/weights.safetensors'))).toBe(`../../../../blobs/${files[2].sha256}`);
    expect(await readlink(path.join(snap, 'tokenizer/vocab.txt'))).toBe(`../../../blobs/${files[3].gitSha1}`);
    for (const f of files) expect((await readFile(path.join(snap, f.path))).equals(f.content)).toBe(true);
    expect((await listTree(repoDir())).filter((p) => p.includes('incomplete') || p.includes('.tmp'))).toEqual([]);
    expect(logs.filter((l) => l.includes('downloaded'))).toHaveLength(4);
  });

  it('a second check and run make zero requests when nothing changed', async () => {
    const first = await runFetch(spec(), context());
    const before = hub.stats.count();
    const check = await checkFetched(spec(), context());
    expect(check).toEqual({ fresh: true, outputHash: first.outputHash });
    expect(hub.stats.count()).toBe(before);
    const pinned = spec({ revision: first.commit });
    expect((await checkFetched(pinned, context())).fresh).toBe(false); // another identity: never verified as such
    const offlineRun = await runFetch(pinned, context({ offline: true }));
    expect(offlineRun.outputHash).toBe(first.outputHash);
    expect(await checkFetched(pinned, context())).toEqual({ fresh: true, outputHash: first.outputHash });
    expect(hub.stats.count()).toBe(before);
  });

  it('check reports a deleted or altered blob without any request', async () => {
    const first = await runFetch(spec(), context());
    const lfs = hub.files(REPO)[1];
    await writeFile(path.join(repoDir(), 'blobs', lfs.sha256), 'tampered');
    const before = hub.stats.count();
    const check = await checkFetched(spec(), context());
    expect(check).toMatchObject({ fresh: false, reason: expect.stringContaining('model.bin') });
    expect(hub.stats.count()).toBe(before);
    const again = await runFetch(spec(), context());
    expect(again.outputHash).toBe(first.outputHash);
    expect(again.downloaded).toBe(lfs.content.length);
    expect((await readFile(path.join(repoDir(), 'blobs', lfs.sha256))).equals(lfs.content)).toBe(true);
  });

  it('without sizes and etags in the file list, HEAD gives them and the bytes are still verified', async () => {
    await hub.close();
    hub = await startHubServer({ repos: [{ id: REPO, files: FILES }], bareListing: true });
    const result = await runFetch(spec(), context());
    expect(result.files).toBe(4);
    expect(hub.stats.requests.filter((r) => r.method === 'HEAD')).toHaveLength(4);
    hub.setFault({ kind: 'wrong-bytes', path: 'config.json' });
    await rm(path.join(repoDir(), 'blobs', hub.files(REPO)[0].gitSha1));
    await expect(runFetch(spec(), context())).rejects.toThrow(/config\.json: the downloaded bytes are wrong \(300 bytes, git blob SHA-1/);
  });

  it('include globs select files', async () => {
    const result = await runFetch(spec({ include: ['*.json', 'sub/**'] }), context());
    expect(result.files).toBe(2);
    const snap = path.join(repoDir(), 'snapshots', result.commit!);
    expect(await listTree(snap)).toEqual(['config.json', 'sub/dir/weights.safetensors']);
    await expect(runFetch(spec({ include: ['*.nothing'] }), context())).rejects.toThrow(/no file matches include/);
  });

  it('--offline without the model is an error naming it, and sends nothing', async () => {
    const err = await rejection(runFetch(spec(), context({ offline: true })));
    expect(err.message).toContain(REPO);
    expect(err.message).toMatch(/--offline/);
    expect(hub.stats.count()).toBe(0);
    expect(await checkFetched(spec(), context())).toMatchObject({ fresh: false, reason: expect.stringContaining(REPO) });
  });

  it('recognizes a snapshot huggingface_hub already put in the cache (offline: no request; online: only the file list)', async () => {
    const commit = hub.repo(REPO).refs.get('main')!;
    for (const f of hub.files(REPO)) {
      const etag = f.lfs ? f.sha256 : f.gitSha1;
      await mkdir(path.join(repoDir(), 'blobs'), { recursive: true });
      await writeFile(path.join(repoDir(), 'blobs', etag), f.content);
      const link = path.join(repoDir(), 'snapshots', commit, f.path);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(path.relative(path.dirname(link), path.join(repoDir(), 'blobs', etag)), link);
    }
    await mkdir(path.join(repoDir(), 'refs'), { recursive: true });
    await writeFile(path.join(repoDir(), 'refs/main'), commit);

    const offline = await runFetch(spec(), context({ offline: true }));
    expect(offline).toMatchObject({ commit, files: 4, downloaded: 0 });
    expect(hub.stats.count()).toBe(0);

    await rm(path.join(root, '.pipe'), { recursive: true });
    const online = await runFetch(spec(), context());
    expect(online).toMatchObject({ commit, downloaded: 0, outputHash: offline.outputHash });
    expect(hub.stats.requests.map((r) => r.path)).toEqual([`/api/models/${REPO}/revision/main`]);
  });

  it('resumes a dropped download with a Range request', async () => {
    const lfs = hub.files(REPO)[1];
    hub.setFault({ kind: 'drop', path: 'model.bin', afterBytes: 100_000 });
    const result = await runFetch(spec(), context());
    const lfsGets = hub.stats.requests.filter((r) => r.path === `/lfs/${lfs.sha256}`);
    expect(lfsGets.map((r) => r.range)).toEqual([undefined, 'bytes=100000-']);
    expect(result.downloaded).toBe(result.bytes);
    expect((await readFile(path.join(repoDir(), 'blobs', lfs.sha256))).equals(lfs.content)).toBe(true);
    expect(logs.some((l) => /retry 1\/5/.test(l))).toBe(true);
  });

  it('an interrupted fetch leaves only a .incomplete file, never a cached one, and the next run resumes it', async () => {
    const lfs = hub.files(REPO)[1];
    const controller = new AbortController();
    const ctx = context({
      signal: controller.signal,
      concurrency: 1,
      onProgress: (p) => {
        if (p.file.endsWith('model.bin') && p.bytes > 0 && !p.done) controller.abort();
      },
    });
    const err = await rejection(runFetch(spec(), ctx));
    expect(err.interrupted).toBe(true);
    expect(existsSync(path.join(repoDir(), 'blobs', lfs.sha256))).toBe(false);
    expect(existsSync(path.join(repoDir(), 'snapshots'))).toBe(false);
    expect((await checkFetched(spec(), context())).fresh).toBe(false);
    const partial = await readFile(path.join(repoDir(), 'blobs', `${lfs.sha256}.incomplete`)).catch(() => Buffer.alloc(0));
    hub.stats.reset();
    await runFetch(spec(), context());
    const ranges = hub.stats.requests.filter((r) => r.path === `/lfs/${lfs.sha256}`).map((r) => r.range);
    expect(ranges).toEqual([partial.length > 0 ? `bytes=${partial.length}-` : undefined]);
    expect((await readFile(path.join(repoDir(), 'blobs', lfs.sha256))).equals(lfs.content)).toBe(true);
  });

  it('rejects wrong bytes: the stage fails clearly and nothing is recorded', async () => {
    hub.setFault({ kind: 'wrong-bytes', path: 'model.bin', times: 10 });
    const err = await rejection(runFetch(spec(), context()));
    expect(err.message).toMatch(/model\.bin: the downloaded bytes are wrong/);
    const lfs = hub.files(REPO)[1];
    const blobs = await readdir(path.join(repoDir(), 'blobs'));
    expect(blobs.filter((b) => b.startsWith(lfs.sha256))).toEqual([]);
    expect(existsSync(path.join(repoDir(), 'snapshots'))).toBe(false);
    expect(existsSync(path.join(root, '.pipe/fetch'))).toBe(false);
    expect((await checkFetched(spec(), context())).fresh).toBe(false);
  });

  it('retries a 500 and succeeds; gives up after the bounded number of attempts', async () => {
    hub.setFault({ kind: 'status', status: 500, times: 2, match: '/api/' });
    const ok = await runFetch(spec(), context());
    expect(ok.files).toBe(4);
    expect(hub.stats.requests.filter((r) => r.path.startsWith('/api/'))).toHaveLength(3);

    hub.setFault(null);
    hub.setFault({ kind: 'status', status: 503, times: 100, match: '/api/' });
    hub.stats.reset();
    const err = await rejection(runFetch(spec({ revision: 'main' }), context({ retries: 2, root: path.join(root, 'other') })));
    expect(err.message).toMatch(/giving up after 3 attempts: HTTP 503/);
    expect(hub.stats.count()).toBe(3);
  });

  it('follows a branch that moved: checks stay local, a run fetches only the changed file', async () => {
    const first = await runFetch(spec(), context());
    const newSha = hub.moveBranch(REPO, 'main', ['model.bin']);
    const before = hub.stats.count();
    expect((await checkFetched(spec(), context())).fresh).toBe(true); // no network: refs/main is what we verified
    expect(hub.stats.count()).toBe(before);

    const second = await runFetch(spec(), context());
    expect(second.commit).toBe(newSha);
    expect(second.outputHash).not.toBe(first.outputHash);
    expect(second.downloaded).toBe(256 * 1024);
    expect(await readFile(path.join(repoDir(), 'refs/main'), 'utf8')).toBe(newSha);
    expect((await readdir(path.join(repoDir(), 'snapshots'))).sort()).toEqual([first.commit, newSha].sort());
    expect(await checkFetched(spec(), context())).toEqual({ fresh: true, outputHash: second.outputHash });
  });

  it('a gated repository: 401 names the model, its licence page and how to give a token; the token is never shown', async () => {
    hub.addRepo({ id: 'acme/gated', files: [{ path: 'pytorch_model.bin', size: 5000, lfs: true }], gated: true });
    const gated = spec({ hf: 'acme/gated' });
    const noToken = await rejection(runFetch(gated, context()));
    expect(noToken.message).toContain('acme/gated');
    expect(noToken.message).toContain(`${hub.url}/acme/gated`);
    expect(noToken.message).toMatch(/licence/);
    expect(noToken.message).toMatch(/HF_TOKEN/);
    expect(noToken.message).toMatch(/config\/hf-token/);

    const wrong = 'hf_WRONGwrongWRONG';
    const refused = await rejection(runFetch(gated, context({ token: wrong })));
    expect(refused.message).toMatch(/not allowed/);
    expect(refused.message).not.toContain(wrong);

    hub.stats.reset();
    const ok = await runFetch(gated, context({ token: TOKEN }));
    expect(ok.files).toBe(1);
    const toHub = hub.stats.requests.filter((r) => r.host === new URL(hub.url).host);
    const toLfs = hub.stats.requests.filter((r) => r.host === new URL(hub.lfsUrl).host);
    expect(toHub.length).toBeGreaterThan(0);
    expect(toLfs.length).toBeGreaterThan(0);
    expect(toHub.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(toLfs.every((r) => r.auth === undefined)).toBe(true);
  });

  it('a planted token appears in no log line and no error', async () => {
    const messages: string[] = [];
    const ctx = context({ token: TOKEN, retries: 1 });
    hub.addRepo({ id: 'acme/gated', files: [{ path: 'a.bin', size: 100, lfs: true }], gated: true });
    await runFetch(spec(), ctx);
    hub.setFault({ kind: 'status', status: 500, times: 10 });
    messages.push((await rejection(runFetch(spec({ revision: 'other' }), ctx))).message);
    hub.setFault(null);
    messages.push((await rejection(runFetch(spec({ hf: 'acme/gated' }), context({ token: `${TOKEN}x` })))).message);
    messages.push((await rejection(runFetch(spec({ hf: 'acme/missing' }), ctx))).message);
    messages.push((await rejection(runFetch(spec({ revision: 'nope' }), ctx))).message);
    hub.setFault({ kind: 'wrong-bytes', times: 10 });
    messages.push((await rejection(runFetch(spec({ hf: 'acme/gated' }), ctx))).message);
    expect(messages).toHaveLength(5);
    expect(logs.length).toBeGreaterThan(4);
    for (const text of [...logs, ...messages]) expect(text).not.toContain(TOKEN);
  });
});

describe('URL fetch', () => {
  function urlSpec(over: Partial<UrlFetch> = {}): UrlFetch {
    const lfs = hub.files(REPO)[1];
    return { url: `${hub.url}/lfs/${lfs.sha256}`, sha256: lfs.sha256, to: '.cache/torch/hub/checkpoints/model.th', ...over };
  }

  it('downloads, verifies the sha256, renames into place, and a check needs no request', async () => {
    const lfs = hub.files(REPO)[1];
    const result = await runFetch(urlSpec(), context());
    expect(result).toMatchObject({ outputHash: lfs.sha256, files: 1, bytes: lfs.content.length, downloaded: lfs.content.length });
    const dest = path.join(root, '.cache/torch/hub/checkpoints/model.th');
    expect((await readFile(dest)).equals(lfs.content)).toBe(true);
    expect(await readdir(path.dirname(dest))).toEqual(['model.th']);
    const before = hub.stats.count();
    expect(await checkFetched(urlSpec(), context())).toEqual({ fresh: true, outputHash: lfs.sha256 });
    expect(hub.stats.count()).toBe(before);
  });

  it('resumes with Range after a dropped connection', async () => {
    hub.setFault({ kind: 'drop', afterBytes: 50_000 });
    await runFetch(urlSpec(), context());
    expect(hub.stats.requests.map((r) => r.range)).toEqual([undefined, 'bytes=50000-']);
  });

  it('a wrong sha256 deletes the bytes and records nothing', async () => {
    const bad = urlSpec({ sha256: 'f'.repeat(64) });
    const err = await rejection(runFetch(bad, context()));
    expect(err.message).toMatch(/bytes are wrong/);
    expect(await listTree(path.join(root, '.cache/torch'))).toEqual([]);
    expect((await checkFetched(bad, context())).fresh).toBe(false);
  });

  it('refuses a destination outside the project', async () => {
    const err = await rejection(runFetch(urlSpec({ to: '../escape.th' }), context()));
    expect(err.message).toMatch(/outside the project/);
    expect(hub.stats.count()).toBe(0);
  });
});

describe('identity, context and pinning', () => {
  it('fetchIdentity changes with the revision and ignores include order', () => {
    expect(fetchIdentity(spec({ include: ['a', 'b'] }))).toBe(fetchIdentity(spec({ include: ['b', 'a'] })));
    expect(fetchIdentity(spec({ revision: 'x' }))).not.toBe(fetchIdentity(spec()));
  });

  it('resolveFetchContext reads HF_ENDPOINT, then HF_TOKEN over config/hf-token', async () => {
    const saved = { endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN };
    try {
      await mkdir(path.join(root, 'config'));
      await writeFile(path.join(root, 'config/hf-token'), 'hf_fromfile\n');
      process.env.HF_ENDPOINT = `${hub.url}/`;
      delete process.env.HF_TOKEN;
      const opts = { offline: false, signal: new AbortController().signal };
      const ctx = resolveFetchContext(root, path.join(root, 'hub'), path.join(root, 'torch'), opts);
      expect(ctx.endpoint).toBe(hub.url);
      expect(ctx.token).toBe('hf_fromfile');
      process.env.HF_TOKEN = 'hf_fromenv';
      expect(resolveFetchContext(root, path.join(root, 'hub'), path.join(root, 'torch'), opts).token).toBe('hf_fromenv');
    } finally {
      for (const [k, v] of [['HF_ENDPOINT', saved.endpoint], ['HF_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('pinManifest writes commits for branch revisions and keeps comments', async () => {
    const file = path.join(root, 'models.yaml');
    const sha = 'a'.repeat(40);
    await writeFile(
      file,
      `# the manifest\ntiny:\n  fetch: {hf: ${REPO}, revision: main}  # follow main\n  size: 1M\npinned:\n  fetch: {hf: ${REPO}, revision: ${sha}}\nckpt:\n  fetch: {url: "https://x/y.th", sha256: "${'0'.repeat(64)}", to: a/b.th}\n`,
    );
    const result = await pinManifest(file, context());
    const commit = hub.repo(REPO).refs.get('main')!;
    expect(result).toEqual([{ key: 'tiny', from: 'main', to: commit }]);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# the manifest');
    expect(text).toContain('# follow main');
    expect(text).toContain(`revision: ${commit}`);
    expect(text).toContain(`revision: ${sha}`);
  });
});

describe('config/models.yaml', () => {
  it('names every model of the seed pipeline with a valid fetch, size, family, profiles and desc', async () => {
    const { parse } = await import('yaml');
    const { fetchSchema } = await import('../src/pipeline/schema.js');
    const manifest = parse(await readFile(path.join(import.meta.dirname, '../config/models.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(manifest).sort()).toEqual([
      'demucs-htdemucs', 'faster-whisper-large-v3', 'indictrans2-en-indic-1b', 'indictrans2-indic-en-1b',
      'indictrans2-indic-indic-1b', 'nllb-200-3.3b', 'nllb-200-distilled-600m', 'pyannote-segmentation-3.0',
      'wav2vec2-align-en', 'wav2vec2-align-hi', 'whisper-large-v3-mlx',
    ]);
    for (const [key, entry] of Object.entries(manifest)) {
      expect(fetchSchema.safeParse(entry.fetch).success, key).toBe(true);
      expect(typeof entry.size, key).toBe('string');
      // an optional model (nllb-200-3.3b) is in no profile: only cache:all and its family fetch it
      expect(Array.isArray(entry.profiles), key).toBe(true);
      expect(['whisperx', 'mlx', 'indictrans2', 'nllb', 'pyannote', 'demucs'], key).toContain(entry.family);
      expect(typeof entry.desc, key).toBe('string');
      const fetch = entry.fetch as { to?: string };
      if (fetch.to) expect(fetch.to.startsWith('.cache/torch/hub/checkpoints/'), key).toBe(true);
    }
    expect((manifest['pyannote-segmentation-3.0'].fetch as HfFetch).hf).toBe('pyannote/segmentation-3.0');
  });
});

describe.skipIf(!existsSync(path.join(import.meta.dirname, '../dist/cli/main.js')))('pipe run cache:x (CLI, built dist/)', () => {
  const bin = path.join(import.meta.dirname, '../bin/pipe.js');

  async function pipe(args: string[], env: Record<string, string> = {}) {
    const { execFile } = await import('node:child_process');
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('node', [bin, '-f', path.join(root, 'pipeline.yaml'), ...args], {
        env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: '', PIPE_FETCH_RETRY_BASE_MS: '1', ...env },
      }, (err, stdout, stderr) => resolve({ code: err ? Number(child.exitCode) : 0, stdout, stderr }));
    });
  }

  beforeEach(async () => {
    hub.addRepo({ id: 'acme/gated', files: [{ path: 'w.bin', size: 4000, lfs: true }], gated: true });
    await writeFile(
      path.join(root, 'pipeline.yaml'),
      'version: 1\ncache: {hf_home: .cache/huggingface, torch_home: .cache/torch, mlx_home: .cache/mlx}\nstages:\n' +
        `  cache:x:\n    fetch: {hf: ${REPO}, revision: main}\n` +
        '  cache:gated:\n    fetch: {hf: acme/gated, revision: main}\n',
    );
  });

  it('downloads into the hub layout once; a rerun makes no request', async () => {
    const first = await pipe(['run', 'cache:x', '--json']);
    expect(first.code).toBe(0);
    const events = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.find((e) => e.type === 'stage')).toMatchObject({ stage: 'cache:x', status: 'ran' });
    expect(events.some((e) => e.type === 'progress' && e.done)).toBe(true);
    const commit = hub.repo(REPO).refs.get('main')!;
    expect(await readFile(path.join(repoDir(), 'refs/main'), 'utf8')).toBe(commit);
    expect(await listTree(path.join(repoDir(), 'snapshots', commit))).toHaveLength(4);

    const before = hub.stats.count();
    const second = await pipe(['run', 'cache:x', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout.trim().split('\n')[0])).toMatchObject({ stage: 'cache:x', status: 'skipped' });
    expect(hub.stats.count()).toBe(before);
  });

  it('--offline without the model fails naming it, with no request', async () => {
    const r = await pipe(['run', 'cache:x', '--offline']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(REPO);
    expect(hub.stats.count()).toBe(0);
  });

  it('a gated model fails with the licence message; the planted token shows nowhere', async () => {
    const r = await pipe(['run', 'cache:gated', '--json'], { HF_TOKEN: 'hf_WRONGplantedTOKEN999' });
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toMatch(/licence/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('hf_WRONGplantedTOKEN999');
    expect(hub.stats.requests.some((q) => q.auth === 'Bearer hf_WRONGplantedTOKEN999')).toBe(true);
  });
});
