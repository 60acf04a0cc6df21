/**
 * The `cache:` section: the model roots (and application caches) are pipe's alone to set, may lie outside
 * the project under allow_outside, and application caches reach every stage as PIPE_CACHE_<NAME>, are
 * created on first use, are never outputs or deps, and are listed and emptied by `pipe clean --caches`.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from '../fixtures/hub-server.js';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const scratch = mkdtempSync(path.join(tmpdir(), 'pipe-scratch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const envOf = async (p: ReturnType<typeof project>, stage?: string) =>
  JSON.parse(ok(await p.pipe(stage ? ['env', stage] : ['env'])).stdout) as Record<string, string>;


/** `pipe status --json`, parsed. */
async function statusOf(p: TestProject): Promise<{ stages: { name: string; state: string }[] }> {
  return JSON.parse(ok(await p.pipe(['status'])).stdout) as { stages: { name: string; state: string }[] };
}
describe.concurrent('cache variables are set by cache:, never by env', () => {
  for (const [where, yaml] of [
    ['a stage', `stages:\n  s:\n    cmd: "true"\n    env:\n      LOG: x\n      HF_HOME: /tmp/elsewhere\n`],
    ['the top-level env', `env:\n  TORCH_HOME: .cache/t\nstages:\n  s:\n    cmd: "true"\n`],
  ] as const) {
    test(`a cache variable in ${where}'s env is a located error that says to use cache:`, async () => {
      const p = project(`version: 1\n${yaml}`);
      const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
      const line = yaml.split('\n').findIndex((l) => /HF_HOME|TORCH_HOME/.test(l)) + 2;
      expect(r.stderr).toMatch(new RegExp(`pipeline\\.yaml:${line}:\\d+: (HF_HOME|TORCH_HOME) is set by pipe .*cache: \\{(hf_home|torch_home): PATH\\}`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  test('PIPE_CACHE_*, PIPE_CPUS and PIPE_STAGE are pipe\'s too; other variables (OMP_NUM_THREADS) are the user\'s', async () => {
    const p = project(`version: 1
stages:
  s:
    cmd: "true"
    env: {PIPE_CACHE_TMDB: x, PIPE_CPUS: "4", PIPE_STAGE: y, OMP_NUM_THREADS: "1", MY_PIPE_CACHE: z}
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:5:\d+: PIPE_CACHE_TMDB .*cache: \{apps: \{tmdb: PATH\}\}/);
    expect(r.stderr).toMatch(/PIPE_CPUS is set by pipe from the stage's resources\.cpu/);
    expect(r.stderr).toMatch(/PIPE_STAGE is set by pipe/);
    expect(r.stderr).not.toMatch(/OMP_NUM_THREADS|MY_PIPE_CACHE/);
  });
});

describe.concurrent('cache roots outside the project', () => {
  test('a root outside the project is a located error unless allow_outside lists it', async () => {
    const hf = path.join(scratch, 'hf-refused');
    const p = project(`version: 1\ncache:\n  hf_home: ${hf}\nstages:\n  s:\n    cmd: "true"\n`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:3:\d+: .*outside the project root.*allow_outside/);
  });

  test('under allow_outside, a shared root is given as is, and the key keeps the absolute path', async () => {
    const hf = path.join(scratch, 'team-hf');
    const tmdb = path.join(scratch, 'tmdb');
    const p = project(`version: 1
allow_outside: [${scratch}]
cache:
  hf_home: ${hf}
  apps: {tmdb: ${tmdb}, local: .cache/local}
stages:
  s:
    cmd: [sh, -c, 'echo "$HF_HOME $PIPE_CACHE_TMDB $PIPE_CACHE_LOCAL" > where.txt']
    outs: [where.txt]
`);
    ok(await p.run());
    expect(p.read('where.txt')).toBe(`${hf} ${tmdb} ${path.join(p.dir, '.cache/local')}\n`);
    expect(existsSync(tmdb)).toBe(true);
    const parts = (JSON.parse(ok(await p.pipe(['explain', 's'])).stdout) as { parts: { part: string; name: string; now: string }[] }).parts;
    const keyed = Object.fromEntries(parts.filter((x) => x.part === 'env').map((x) => [x.name, x.now]));
    expect(keyed.HF_HOME).toBe(hf);
    expect(keyed.PIPE_CACHE_TMDB).toBe(tmdb);
    expect(keyed.PIPE_CACHE_LOCAL).toBe('${PIPE_ROOT}/.cache/local');
  });

  test('a fetch stage downloads into a shared root outside the project, and a stage reads it from there', async () => {
    const hub: HubServer = await startHubServer();
    try {
      hub.addRepo({ id: 'acme/tiny', files: [{ path: 'config.json', size: 64 }] });
      const hf = path.join(scratch, 'team-models');
      const p = project(`version: 1
allow_outside: [${scratch}]
cache: {hf_home: ${hf}}
stages:
  cache:tiny:
    fetch: {hf: acme/tiny, revision: main}
  use:
    cmd: [sh, -c, 'cat "$HF_HUB_CACHE"/models--acme--tiny/snapshots/*/config.json | wc -c > used.txt; echo $HF_HUB_OFFLINE >> used.txt']
    needs: [cache:tiny]
    outs: [used.txt]
`);
      ok(await p.pipe(['run'], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '' } }));
      expect(p.read('used.txt').split('\n').map((l) => l.trim())).toEqual(['64', '1', '']);
      expect(readdirSync(path.join(hf, 'hub'))).toContain('models--acme--tiny');
      expect(p.exists('.cache/huggingface')).toBe(false);
    } finally {
      await hub.close();
    }
  });

  test('an outside root may not hold the project', async () => {
    const p = project(`version: 1\nallow_outside: [/]\ncache:\n  apps: {all: /}\nstages:\n  s:\n    cmd: "true"\n`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:4:\d+: cache root apps\.all '\/' holds the project/);
  });
});

const APPS = `version: 1
cache:
  apps:
    tmdb: out/tmdb_cache
    glossary: glossary/cache
stages:
  lookup:
    cmd: [sh, -c, 'test -d "$PIPE_CACHE_GLOSSARY" && n=$(ls "$PIPE_CACHE_TMDB" | wc -l) && echo "hit $n" > "$PIPE_CACHE_TMDB/entry-$n" && echo "$n" > out/lookup.txt']
    outs: [out/lookup.txt]
`;

describe.concurrent('application caches', () => {
  test('every stage gets PIPE_CACHE_<NAME> as an absolute path, shown by pipe env with and without a stage', async () => {
    const p = project(APPS);
    const all = await envOf(p);
    expect(all.PIPE_CACHE_TMDB).toBe(path.join(p.dir, 'out/tmdb_cache'));
    expect(all.PIPE_CACHE_GLOSSARY).toBe(path.join(p.dir, 'glossary/cache'));
    const stage = await envOf(p, 'lookup');
    expect(stage.PIPE_CACHE_TMDB).toBe(all.PIPE_CACHE_TMDB);
  });

  test('created on first use, kept between runs (never moved aside), and not an output', async () => {
    const p = project(APPS);
    expect(p.exists('out/tmdb_cache')).toBe(false);
    ok(await p.run());
    expect(p.read('out/lookup.txt')).toBe('0\n');
    ok(await p.run('--force'));
    expect(p.read('out/lookup.txt')).toBe('1\n');
    expect(readdirSync(p.path('out/tmdb_cache')).sort()).toEqual(['entry-0', 'entry-1']);
    // the cache does not enter the key: a new entry in it does not make the stage stale
    const status = await statusOf(p);
    expect(status.stages.find((s) => s.name === 'lookup')?.state).toBe('fresh');
  });

  test('a glob dep over a folder holding a cache does not see the cache: a new entry leaves the stage fresh', async () => {
    const p = project(`version: 1
cache:
  apps: {tmdb: data/tmdb_cache}
stages:
  count:
    cmd: [sh, -c, 'ls data/*.txt | wc -l > count.txt']
    deps: ["data/**/*.txt"]
    outs: [count.txt]
`, { 'data/a.txt': 'a' });
    ok(await p.run());
    p.write('data/tmdb_cache/entry.txt', 'cached');
    const status = await statusOf(p);
    expect(status.stages[0]?.state).toBe('fresh');
    p.write('data/b.txt', 'b');
    const stale = await statusOf(p);
    expect(stale.stages[0]?.state).toBe('stale');
  });

  test('an output or a dep inside a cache, or an output holding one, is a located error', async () => {
    const p = project(`version: 1
cache:
  apps: {tmdb: out/tmdb_cache}
stages:
  writes:
    cmd: "true"
    outs: [out/tmdb_cache/x.json]
  holds:
    cmd: "true"
    outs: [out]
  reads:
    cmd: "true"
    deps: ["out/tmdb_cache/*.json"]
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:7:\d+: output 'out\/tmdb_cache\/x\.json' of stage 'writes' is inside cache apps\.tmdb/);
    expect(r.stderr).toMatch(/pipeline\.yaml:10:\d+: output 'out' of stage 'holds' holds cache apps\.tmdb/);
    expect(r.stderr).toMatch(/pipeline\.yaml:13:\d+: dep 'out\/tmdb_cache\/\*\.json' of stage 'reads' is inside cache apps\.tmdb/);
  });

  test('two caches in one folder, a model root\'s name, or a bad name are located errors', async () => {
    const p = project(`version: 1
cache:
  hf_home: .cache/hf
  apps:
    a: c/shared
    b: c/shared/inner
    hub: .cache/hf/hub
    hf_home: x
    Bad-Name: y
stages:
  s: {cmd: "true"}
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:9:\d+: .*lowercase letters/);
    const again = project(p.read('pipeline.yaml').replace('    Bad-Name: y\n', ''));
    const r2 = expectExit(await again.pipe(['validate'], { json: false }), 2);
    expect(r2.stderr).toMatch(/pipeline\.yaml:6:\d+: cache apps\.b 'c\/shared\/inner' lies inside cache apps\.a/);
    expect(r2.stderr).toMatch(/pipeline\.yaml:7:\d+: cache apps\.hub '\.cache\/hf\/hub' lies inside cache hf_home/);
    expect(r2.stderr).toMatch(/pipeline\.yaml:8:\d+: cache apps\.hf_home: 'hf_home' is a model root/);
  });

  test('a cache folder that leads outside the project through a symlink is not written', async () => {
    const elsewhere = mkdtempSync(path.join(scratch, 'link-'));
    const p = project(APPS);
    mkdirSync(p.path('out'));
    symlinkSync(elsewhere, p.path('out/tmdb_cache'));
    const r = expectExit(await p.run(), 1);
    expect(stageEvents(r).lookup?.reason).toMatch(/cache apps\.tmdb 'out\/tmdb_cache' leads outside the project through a symlink/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe.concurrent('pipe clean --caches', () => {
  const filled = async () => {
    const p = project(APPS);
    ok(await p.run());
    ok(await p.run('--force'));
    p.write('.cache/huggingface/hub/models--org--m/blob', 'x'.repeat(1000));
    p.write('.cache/huggingface/token', 'hf_secret');
    writeFileSync(p.path('glossary/cache/terms.json'), '{"a": "b"}');
    return p;
  };

  test('-n lists every application cache with its size, and removes nothing', async () => {
    const p = await filled();
    const r = ok(await p.pipe(['clean', '--caches', '-n'], { json: false }));
    expect(r.stdout).toMatch(/tmdb\s+out\/tmdb_cache\s+12 B\s+2 file\(s\)/);
    expect(r.stdout).toMatch(/glossary\s+glossary\/cache\s+10 B\s+1 file\(s\)/);
    expect(r.stdout).not.toMatch(/hf_home/);
    expect(r.stdout).toMatch(/dry run: nothing removed/);
    expect(readdirSync(p.path('out/tmdb_cache'))).toHaveLength(2);
  });

  test('without names it empties the application caches, not the model roots; the folders stay', async () => {
    const p = await filled();
    const r = JSON.parse(ok(await p.pipe(['clean', '--caches'])).stdout) as { caches: { name: string; bytes: number; files: number }[]; emptied: string[] };
    expect(r.caches.map((c) => [c.name, c.bytes, c.files])).toEqual([['tmdb', 12, 2], ['glossary', 10, 1]]);
    expect(r.emptied).toEqual(['tmdb', 'glossary']);
    expect(readdirSync(p.path('out/tmdb_cache'))).toEqual([]);
    expect(readdirSync(p.path('glossary/cache'))).toEqual([]);
    expect(p.exists('.cache/huggingface/hub/models--org--m/blob')).toBe(true);
    expect(p.read('out/lookup.txt')).toBe('1\n'); // outputs are not caches
  });

  test('a named model root is emptied, except the Hugging Face token; an unknown name is exit 2', async () => {
    const p = await filled();
    const r = ok(await p.pipe(['clean', '--caches', 'hf_home'], { json: false }));
    expect(r.stdout).toMatch(/hf_home\s+\.cache\/huggingface\s+1000 B\s+1 file\(s\)/);
    expect(readdirSync(p.path('.cache/huggingface'))).toEqual(['token']);
    expect(readdirSync(p.path('out/tmdb_cache'))).toHaveLength(2);
    const bad = expectExit(await p.pipe(['clean', '--caches', 'tmbd'], { json: false }), 2);
    expect(bad.stderr).toMatch(/no cache named 'tmbd' \(did you mean 'tmdb'\?\)/);
  });
});
