/**
 * pipe push, pipe pull, status --remote-cache and fetch stages through the team cache, against a real nginx
 * (WebDAV) on loopback and the bundled CLI; model snapshots come from the hub stand-in (tests/fixtures).
 */
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from './fixtures/hub-server.js';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents, statuses, summary, TestProject } from './helpers/pipe-project.js';
import { nginxForThisFile, startNginx, teamCachePipeline } from './helpers/nginx.js';

const project = projectsRemovedAfterAll();

const PIPELINE = teamCachePipeline();

const currentNginx = nginxForThisFile();

const copies: TestProject[] = [];
afterAll(() => copies.forEach((p) => p.remove()));

/** A project built locally, with no team cache involved. */
async function builtLocally(): Promise<TestProject> {
  const a = project(PIPELINE, { 'input.txt': `input ${Math.random()}\n` });
  ok(await a.run());
  return a;
}

/** A fresh copy of A's sources (what a clone gets): the pipeline and its inputs, nothing built. */
function freshCopy(a: TestProject, files = ['pipeline.yaml', 'input.txt']): TestProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-copy-'));
  for (const f of files) cpSync(a.path(f), path.join(dir, f), { recursive: true });
  const b = new TestProject(dir);
  copies.push(b);
  return b;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath ?? e.path, e.name), 'latin1'));
}

function sha(p: TestProject, file: string): string {
  return createHash('sha256').update(readFileSync(p.path(file))).digest('hex');
}

/** SPEC's NDJSON says a stage not run is `failed` with `notRun: true` */
function outcomes(r: Parameters<typeof stageEvents>[0]): Record<string, string | undefined> {
  return Object.fromEntries(Object.values(stageEvents(r)).map((e) => [e.stage, e.notRun ? 'not-run' : e.status]));
}

function pushResults(r: { events: { type: string; stage?: string; result?: unknown }[] }): Record<string, unknown> {
  return Object.fromEntries(r.events.filter((e) => e.type === 'push').map((e) => [e.stage, e.result]));
}

describe('pipe push and pipe pull', () => {
  test('push uploads what was built locally; pull in a fresh copy restores it all and runs nothing', async () => {
    const a = await builtLocally();
    const pushed = ok(await a.pipe(['push', '--remote-cache', currentNginx().url]));
    expect(pushResults(pushed)).toEqual({ gen: 'pushed', count: 'pushed', tail: 'pushed' });
    expect(summary(pushed)).toMatchObject({ pushed: 3, present: 0, notBuilt: 0, failed: 0 });
    const again = ok(await a.pipe(['push', '--remote-cache', currentNginx().url]));
    expect(pushResults(again)).toEqual({ gen: 'present', count: 'present', tail: 'present' });

    const b = freshCopy(a);
    const pulled = ok(await b.pipe(['pull', '--remote-cache', currentNginx().url]));
    expect(Object.values(stageEvents(pulled)).map((e) => [e.status, e.from])).toEqual([['restored', 'remote'], ['restored', 'remote'], ['restored', 'remote']]);
    expect(b.exists('ran.log')).toBe(false);
    for (const f of ['data/a.txt', 'data/big.bin', 'count.txt', 'final.txt']) expect(sha(b, f)).toBe(sha(a, f));
    expect(pulled.stderr).toMatch(/pulled 3 stage\(s\), 0 already up to date; nothing missing/);
    // pulled outputs are recorded: the next run is a no-op
    expect(Object.values(statuses(ok(await b.run())))).toEqual(['skipped', 'skipped', 'skipped']);
  });

  test('pull with nothing pushed runs nothing, says what it could not get, and exits 1', async () => {
    const a = await builtLocally();
    const b = freshCopy(a);
    const r = expectExit(await b.pipe(['pull', '--remote-cache', currentNginx().url]), 1);
    expect(outcomes(r)).toEqual({ gen: 'not-run', count: 'not-run', tail: 'not-run' });
    expect(b.exists('ran.log')).toBe(false);
    expect(b.exists('data')).toBe(false);
    expect(r.stderr).toMatch(/3 not in the team cache for their current inputs \(run them\): gen, count, tail/);
  });

  test('push of one target uploads it alone; pull gets that stage and says which others it could not get', async () => {
    const a = await builtLocally();
    const pushed = ok(await a.pipe(['push', 'gen', '--remote-cache', currentNginx().url]));
    expect(pushResults(pushed)).toEqual({ gen: 'pushed' });
    const b = freshCopy(a);
    const r = expectExit(await b.pipe(['pull', '--remote-cache', currentNginx().url]), 1);
    expect(outcomes(r)).toEqual({ gen: 'restored', count: 'not-run', tail: 'not-run' });
    const reasons = Object.fromEntries(Object.values(stageEvents(r)).map((e) => [e.stage, e.reasons?.map((x) => x.kind)]));
    expect(reasons.count).toContain('not-in-cache');
    expect(reasons.tail).toEqual(['upstream-not-restored']);
    expect(b.exists('ran.log')).toBe(false);
    expect(sha(b, 'data/big.bin')).toBe(sha(a, 'data/big.bin'));
    expect(b.exists('count.txt')).toBe(false);
  });

  test('push: stages never built are listed, not failed; a server that is down fails the push (exit 1) after bounded retries', async () => {
    const fresh = project(PIPELINE, { 'input.txt': `never ${Math.random()}\n` });
    const r = ok(await fresh.pipe(['push', '--remote-cache', currentNginx().url]));
    expect(pushResults(r)).toEqual({ gen: 'not-built', count: 'not-built', tail: 'not-built' });
    expect(currentNginx().files('ac').length).toBeGreaterThan(0);

    const a = await builtLocally();
    const down = await startNginx();
    const url = down.url;
    await down.stop();
    const started = Date.now();
    const failed = expectExit(await a.pipe(['push', '--remote-cache', url]), 1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(Object.values(pushResults(failed))).toEqual(['failed', 'failed', 'failed']);
    expect(failed.stdout).toMatch(/ECONNREFUSED/);
  });

  test('push and pull without a team cache, or push to a read-only one, are refused with exit 2; CI overrides read_only with PIPE_REMOTE_CACHE_READ_ONLY=0', async () => {
    const a = await builtLocally();
    for (const args of [['push'], ['pull']]) {
      const r = expectExit(await a.pipe(args, { json: false }), 2);
      expect(r.stderr).toMatch(/needs a team cache: --remote-cache URL/);
    }
    const ro = expectExit(await a.pipe(['push', '--remote-cache', currentNginx().url], { json: false, env: { PIPE_REMOTE_CACHE_READ_ONLY: '1' } }), 2);
    expect(ro.stderr).toMatch(/read-only for this command/);
    // read_only: true in pipeline.yaml (laptops); CI writes with PIPE_REMOTE_CACHE_READ_ONLY=0
    a.write('pipeline.yaml', `remote_cache: {url: "${currentNginx().url}", read_only: true}\n${a.read('pipeline.yaml')}`);
    expectExit(await a.pipe(['push'], { json: false }), 2);
    const ci = ok(await a.pipe(['push'], { env: { PIPE_REMOTE_CACHE_READ_ONLY: '0' } }));
    expect(summary(ci)).toMatchObject({ failed: 0, notBuilt: 0 });
  });
});

test('push, pull and status never show the password in the URL or the token, reachable or not', async () => {
  const password = 'pw-never-shown-8812';
  const token = 'tok-never-shown-4471';
  const url = currentNginx().url.replace('http://', `http://bob:${password}@`);
  const env = { PIPE_REMOTE_CACHE_TOKEN: token };
  const a = await builtLocally();
  const b = freshCopy(a);
  const down = await startNginx();
  const downUrl = down.url.replace('http://', `http://bob:${password}@`);
  await down.stop();
  const results = [
    ok(await a.pipe(['push', '-v', '--remote-cache', url], { env })),
    ok(await b.pipe(['status', '-v', '--remote-cache', url], { env, json: false })),
    ok(await b.pipe(['pull', '-v', '--remote-cache', url], { env })),
    expectExit(await a.pipe(['push', '-v', '--remote-cache', downUrl], { env }), 1),
    ok(await b.pipe(['status', '-v', '--remote-cache', downUrl], { env, json: false })),
  ];
  expect(results[2]!.stderr).toMatch(/pulled 3 stage\(s\)/);
  expect(results[3]!.stdout).toContain(down.url); // the URL is shown, without its userinfo
  for (const text of [...results.flatMap((r) => [r.stdout, r.stderr]), ...filesUnder(a.path('.pipe')), ...filesUnder(b.path('.pipe'))]) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(token);
  }
});

describe('pipe status --remote-cache', () => {
  test('says which stale stages the team cache would restore, restores nothing, and only asks when given the flag', async () => {
    const a = await builtLocally();
    ok(await a.pipe(['push', '--remote-cache', currentNginx().url]));
    const b = freshCopy(a);
    const plain = ok(await b.pipe(['status', '--json'], { env: { PIPE_REMOTE_CACHE: currentNginx().url } }));
    const without = JSON.parse(plain.stdout) as { stages: { name: string; teamCache?: boolean }[] };
    expect(without.stages.map((s) => s.teamCache)).toEqual([undefined, undefined, undefined]);

    const asked = ok(await b.pipe(['status', '--json', '--remote-cache', currentNginx().url]));
    const withTeam = JSON.parse(asked.stdout) as { stages: { name: string; state: string; teamCache?: boolean }[] };
    expect(withTeam.stages.map((s) => [s.name, s.state, s.teamCache])).toEqual([['gen', 'never-run', true], ['count', 'never-run', true], ['tail', 'never-run', true]]);
    const text = ok(await b.pipe(['status', '--remote-cache', currentNginx().url], { json: false }));
    expect(text.stdout).toMatch(/3 of 3 stage\(s\) would run \(3 of them the team cache http:\/\/127\.0\.0\.1:\d+\/pipe would restore\)/);
    expect(b.exists('data')).toBe(false);
    expect(b.exists('.pipe/cache/objects')).toBe(false);

    // a stage whose input changed is not in the team cache: said so
    b.write('input.txt', 'changed\n');
    const changed = JSON.parse(ok(await b.pipe(['status', '--json', '--remote-cache', currentNginx().url])).stdout) as typeof withTeam;
    expect(changed.stages.map((s) => s.teamCache)).toEqual([undefined, undefined, undefined]);
  });
});

const HAS_HF_HUB = spawnSync('python3', ['-c', 'import huggingface_hub'], { stdio: 'ignore' }).status === 0;

describe('fetch stages through the team cache', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer();
    hub.addRepo({ id: 'acme/tiny', files: [{ path: 'config.json', size: 64 }, { path: 'model.safetensors', size: 400_000, lfs: true }, { path: 'sub/vocab.txt', size: 300 }] });
  });
  afterAll(async () => {
    await hub?.close();
  });

  const MODELS = `version: 1
stages:
  cache:tiny:
    fetch: {hf: acme/tiny, revision: main}
  read:
    # what a huggingface_hub user does offline: resolve the file through refs/main and the snapshot link
    cmd: [python3, read_model.py]
    needs: [cache:tiny]
    deps: [read_model.py]
    outs: [read.txt]
`;
  const READER = `import os, sys
assert os.environ.get("HF_HUB_OFFLINE") == "1", "pipe sets HF_HUB_OFFLINE for stages that need a fetch stage"
try:
    from huggingface_hub import hf_hub_download
    paths = [hf_hub_download("acme/tiny", f) for f in ("config.json", "model.safetensors", "sub/vocab.txt")]
    how = "huggingface_hub"
except ImportError:
    repo = os.path.join(os.environ["HF_HUB_CACHE"], "models--acme--tiny")
    commit = open(os.path.join(repo, "refs", "main")).read()
    paths = [os.path.join(repo, "snapshots", commit, f) for f in ("config.json", "model.safetensors", "sub/vocab.txt")]
    how = "layout"
with open("read.txt", "w") as out:
    out.write(" ".join(str(os.path.getsize(p)) for p in paths) + "\\n")
print(how)
`;

  test('a snapshot fetched once is uploaded; a machine that cannot reach the hub restores it, verified, into the hub layout', async () => {
    const a = project(MODELS, { 'read_model.py': READER });
    const first = ok(await a.pipe(['run', '--remote-cache', currentNginx().url], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '' } }));
    expect(statuses(first)).toEqual({ 'cache:tiny': 'ran', read: 'ran' });
    expect(summary(first)?.remote).toMatchObject({ uploaded: 2 });
    const files = hub.files('acme/tiny');
    const commit = hub.repo('acme/tiny').refs.get('main')!;

    const b = freshCopy(a, ['pipeline.yaml', 'read_model.py']);
    const offline = { HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '', PIPE_FETCH_RETRIES: '0' }; // nothing listens there
    const requests = hub.stats.count();
    // without the team cache the hub is needed, and unreachable
    expectExit(await b.pipe(['run', 'cache:tiny'], { env: offline }), 1);
    const r = ok(await b.pipe(['run', 'cache:tiny', '--remote-cache', currentNginx().url], { env: offline }));
    expect(Object.values(stageEvents(r)).map((e) => [e.stage, e.status, e.from])).toEqual([['cache:tiny', 'restored', 'remote']]);
    expect(hub.stats.count()).toBe(requests);

    // the huggingface_hub layout: blobs named by etag, relative links, refs/main
    const repo = b.path('.cache/huggingface/hub/models--acme--tiny');
    expect(readdirSync(path.join(repo, 'blobs')).sort()).toEqual(files.map((f) => (f.lfs ? f.sha256 : f.gitSha1)).sort());
    expect(readFileSync(path.join(repo, 'refs/main'), 'utf8')).toBe(commit);
    const snap = path.join(repo, 'snapshots', commit);
    expect(readlinkSync(path.join(snap, 'config.json'))).toBe(`../../blobs/${files[0]!.gitSha1}`);
    expect(readlinkSync(path.join(snap, 'sub/vocab.txt'))).toBe(`../../../blobs/${files[2]!.gitSha1}`);
    for (const f of files) expect(readFileSync(path.join(snap, f.path)).equals(f.content)).toBe(true);

    // then it is fresh, and a reader in offline mode finds the files
    const read = ok(await b.pipe(['run', '--remote-cache', currentNginx().url], { env: offline }));
    expect(statuses(read)).toEqual({ 'cache:tiny': 'skipped', read: 'restored' });
    expect(b.read('read.txt')).toBe('64 400000 300\n');
    expect(b.read('read.txt')).toBe(a.read('read.txt'));
  });

  test.skipIf(!HAS_HF_HUB)('huggingface_hub itself, with HF_HUB_OFFLINE=1, reads a snapshot restored from the team cache', async () => {
    const a = project(MODELS, { 'read_model.py': READER });
    ok(await a.pipe(['run', 'cache:tiny', '--remote-cache', currentNginx().url], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '' } }));
    const b = freshCopy(a, ['pipeline.yaml', 'read_model.py']);
    const r = ok(await b.pipe(['run', '--force', 'read', '--remote-cache', currentNginx().url], { env: { HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' } }));
    expect(statuses(r)).toEqual({ 'cache:tiny': 'restored', read: 'ran' });
    expect(readFileSync(b.path('.pipe/logs/read.log'), 'utf8')).toMatch(/^huggingface_hub$/m);
    expect(b.read('read.txt')).toBe('64 400000 300\n');
  });

  test('a snapshot blob altered on the server is refused; the stage fetches from the hub instead', async () => {
    const a = project(MODELS.replace(/acme\/tiny/g, 'acme/other'), { 'read_model.py': READER });
    hub.addRepo({ id: 'acme/other', files: [{ path: 'model.safetensors', size: 300_000, lfs: true }] });
    ok(await a.pipe(['run', 'cache:tiny', '--remote-cache', currentNginx().url], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '' } }));
    const lfs = hub.files('acme/other')[0]!;
    const blob = currentNginx().file(`cas/${lfs.sha256}`);
    await execa('sh', ['-c', 'printf x | dd of="$1" bs=1 seek=1000 conv=notrunc status=none', 'sh', blob]);
    const b = freshCopy(a, ['pipeline.yaml', 'read_model.py']);
    const r = ok(await b.pipe(['run', 'cache:tiny', '--remote-cache', currentNginx().url], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '' } }));
    expect(statuses(r)).toEqual({ 'cache:tiny': 'ran' });
    expect(r.stderr).toMatch(/could not restore the snapshot from the team cache .*SHA-256/);
    const restored = readFileSync(b.path(`.cache/huggingface/hub/models--acme--other/blobs/${lfs.sha256}`));
    expect(restored.equals(lfs.content)).toBe(true);
  });
});
