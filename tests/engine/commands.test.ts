/** The read-only commands and the pipeline features around them: --dry-run, status, explain, env, list, foreach, when. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeProject, ok, stageEvents, statuses, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const PAIR = `version: 1
vars:
  n: "1"
stages:
  make:
    desc: Writes the number
    cmd: echo \${n} > make.txt; echo make >> ran.log
    params: [n]
    outs: [make.txt]
  copy:
    desc: Copies it
    cmd: cat make.txt extra.txt > copy.txt; echo copy >> ran.log
    deps: [make.txt, extra.txt]
    outs: [copy.txt]
  alone:
    cmd: echo alone > alone.txt
    outs: [alone.txt]
`;

interface StatusJson {
  stages: { name: string; state: string; reasons: string[] }[];
}

async function statusOf(p: TestProject, ...args: string[]): Promise<Record<string, { state: string; reasons: string[] }>> {
  const parsed = JSON.parse(ok(await p.pipe(['status', ...args])).stdout) as StatusJson;
  expect(Array.isArray(parsed.stages)).toBe(true);
  return Object.fromEntries(parsed.stages.map((s) => {
    expect(Object.keys(s).sort()).toEqual(expect.arrayContaining(['name', 'reasons', 'state']));
    expect(Array.isArray(s.reasons)).toBe(true);
    return [s.name, { state: s.state, reasons: s.reasons }];
  }));
}

describe.concurrent('dry run, status, explain', () => {
  test('--dry-run runs nothing and prints the reasons', async () => {
    const p = project(PAIR, { 'extra.txt': 'x\n' });
    const dry = ok(await p.run('--dry-run'));
    expect(p.exists('ran.log')).toBe(false);
    expect(p.exists('make.txt')).toBe(false);
    expect(p.exists('.pipe/lock')).toBe(false);
    expect(stageEvents(dry).make?.reason).toMatch(/never run/);

    ok(await p.run());
    p.write('extra.txt', 'changed\n');
    const plain = ok(await p.pipe(['run', '-n'], { json: false }));
    expect(plain.stdout + plain.stderr).toMatch(/copy.*extra\.txt/);
    expect(p.lines('ran.log')).toEqual(['make', 'copy']);
    expect(p.read('copy.txt')).toBe('1\nx\n');
  });

  test('status --json: never-run, fresh, stale with reasons, missing-outputs', async () => {
    const p = project(PAIR, { 'extra.txt': 'x\n' });
    const before = await statusOf(p);
    expect(Object.keys(before).sort()).toEqual(['alone', 'copy', 'make']);
    expect(Object.values(before).every((s) => s.state === 'never-run')).toBe(true);

    ok(await p.run());
    const fresh = await statusOf(p);
    expect(Object.values(fresh).map((s) => s.state)).toEqual(['fresh', 'fresh', 'fresh']);

    p.write('extra.txt', 'y\n');
    rmSync(p.path('alone.txt'));
    const after = await statusOf(p);
    expect(after.make?.state).toBe('fresh');
    expect(after.copy?.state).toBe('stale');
    expect(after.copy?.reasons.join(' ')).toContain('extra.txt');
    expect(after.alone?.state).toBe('missing-outputs');
    expect(after.alone?.reasons.join(' ')).toContain('alone.txt');

    const withParam = await statusOf(p, '--set', 'n=2');
    expect(withParam.make?.state).toBe('stale');
    expect(withParam.make?.reasons.join(' ')).toMatch(/param n/);
    expect(p.lines('ran.log')).toEqual(['make', 'copy']); // status never runs anything
  });

  test('explain names the changed param, dep and command', async () => {
    const p = project(PAIR, { 'extra.txt': 'x\n' });
    ok(await p.run());
    const fresh = ok(await p.pipe(['explain', 'copy'], { json: false }));
    expect(fresh.stdout).toMatch(/fresh/);
    expect(fresh.stdout).toContain('extra.txt');

    const param = ok(await p.pipe(['explain', 'make', '--set', 'n=7'], { json: false }));
    expect(param.stdout).toMatch(/stale/);
    expect(param.stdout).toMatch(/param n/);

    p.write('extra.txt', 'changed\n');
    const dep = ok(await p.pipe(['explain', 'copy'], { json: false }));
    expect(dep.stdout).toMatch(/dep extra\.txt/);

    p.pipeline(PAIR.replace('echo alone', 'echo ALONE'));
    const cmd = ok(await p.pipe(['explain', 'alone'], { json: false }));
    expect(cmd.stdout).toMatch(/command/);
    expect(cmd.stdout).toContain('echo ALONE');
  });
});

describe.concurrent('env, list, validate', () => {
  const MODEL = `version: 1
cache:
  hf_home: .cache/hf
env:
  SHARED: everyone
stages:
  model:
    fetch: {hf: org/name, revision: 0123456789abcdef0123456789abcdef01234567}
  infer:
    desc: Uses the model
    cmd: printenv HF_HOME HF_HUB_OFFLINE OWN SHARED > env.txt
    needs: [model]
    env: {OWN: mine}
    outs: [env.txt]
  plain:
    desc: Needs no model
    cmd: printenv HF_HOME TORCH_HOME > plain.txt
    outs: [plain.txt]
groups:
  all: [infer, plain]
`;

  function parseEnv(text: string): Record<string, string> {
    return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => {
      const eq = l.indexOf('=');
      return [l.slice(0, eq), l.slice(eq + 1).replace(/^'(.*)'$/, '$1')];
    }));
  }

  test('env STAGE: cache variables as absolute paths under the project, HF_HUB_OFFLINE=1 after a fetch stage', async () => {
    const p = project(MODEL);
    const infer = parseEnv(ok(await p.pipe(['env', 'infer'], { json: false })).stdout);
    expect(infer.HF_HOME).toBe(path.join(p.dir, '.cache/hf'));
    expect(infer.HF_HUB_CACHE).toBe(path.join(p.dir, '.cache/hf/hub'));
    expect(infer.TRANSFORMERS_CACHE).toBe(path.join(p.dir, '.cache/hf'));
    for (const key of ['TORCH_HOME', 'MLX_CACHE_DIR']) {
      expect(path.isAbsolute(infer[key]!)).toBe(true);
      expect(infer[key]!.startsWith(p.dir + path.sep)).toBe(true);
    }
    expect(infer.HF_HUB_OFFLINE).toBe('1');
    expect(infer.OWN).toBe('mine');
    expect(infer.SHARED).toBe('everyone');

    const plain = parseEnv(ok(await p.pipe(['env', 'plain'], { json: false })).stdout);
    expect(plain.HF_HOME).toBe(infer.HF_HOME);
    expect(plain.HF_HUB_OFFLINE).toBeUndefined();
    expect(plain.OWN).toBeUndefined();
  });

  test('a stage runs with the environment env prints', async () => {
    const p = project(MODEL);
    ok(await p.run('plain'));
    const env = parseEnv(ok(await p.pipe(['env', 'plain'], { json: false })).stdout);
    expect(p.read('plain.txt')).toBe(`${env.HF_HOME}\n${env.TORCH_HOME}\n`);
  });

  test('list shows stages with descriptions and groups', async () => {
    const p = project(MODEL);
    const r = ok(await p.pipe(['list'], { json: false }));
    expect(r.stdout).toMatch(/infer\s+Uses the model/);
    expect(r.stdout).toMatch(/plain\s+Needs no model/);
    expect(r.stdout).toContain('model');
    expect(r.stdout).toContain('all');
  });

  test('validate checks without running', async () => {
    const p = project(MODEL);
    ok(await p.pipe(['validate'], { json: false }));
    expect(p.exists('.pipe/state.log')).toBe(false);
  });
});

describe.concurrent('foreach and when', () => {
  const FANOUT = `version: 1
vars:
  langs: [fr, de]
  texts: data/*.txt
  mode: fast
stages:
  tr:
    foreach: langs
    cmd: echo \${item} > "out/\${item}.txt"
    outs: ["out/\${item}.txt"]
  count:
    foreach: texts
    cmd: wc -c < \${item} | tr -d ' ' > "\${item}.n"
    deps: ["\${item}"]
    outs: ["\${item}.n"]
  quick:
    when: {mode: fast}
    cmd: echo quick > quick.txt
    outs: [quick.txt]
  careful:
    when: {mode: [slow, careful]}
    cmd: echo careful > careful.txt
    outs: [careful.txt]
`;

  function fanout(): TestProject {
    return project(FANOUT, { 'data/one.txt': 'a\n', 'data/three.txt': 'abc\n' });
  }

  test('foreach over a list and a glob makes name@job instances; the template name targets them all', async () => {
    const p = fanout();
    const r = ok(await p.run('tr'));
    const names = Object.keys(statuses(r)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^tr@de\b/);
    expect(names[1]).toMatch(/^tr@fr\b/);
    expect(p.read('out/fr.txt')).toBe('fr\n');
    expect(p.read('out/de.txt')).toBe('de\n');
    expect(p.exists('quick.txt')).toBe(false);

    const counted = ok(await p.run('count'));
    expect(Object.keys(statuses(counted)).every((n) => n.startsWith('count@'))).toBe(true);
    expect(Object.keys(statuses(counted))).toHaveLength(2);
    expect(p.read('data/three.txt.n')).toBe('4\n');

    p.write('data/two.txt', 'ab\n');
    const grown = ok(await p.run('count'));
    expect(Object.values(statuses(grown)).sort()).toEqual(['ran', 'skipped', 'skipped']);
    expect(p.read('data/two.txt.n')).toBe('3\n');
  });

  test('a glob foreach does not pick up the files its own stages write', async () => {
    const p = project(`version: 1
vars:
  texts: data/*.txt
stages:
  up:
    foreach: texts
    cmd: tr a-z A-Z < \${item} > \${item}.up.txt
    deps: ["\${item}"]
    outs: ["\${item}.up.txt"]
`, { 'data/a.txt': 'a\n' });
    for (let i = 0; i < 2; i++) expect(Object.keys(statuses(ok(await p.run())))).toHaveLength(1);
    expect(p.exists('data/a.txt.up.txt.up.txt')).toBe(false);
  });

  test('when keeps a stage only for the matching var values', async () => {
    const p = fanout();
    const fast = ok(await p.pipe(['list'], { json: false })).stdout;
    expect(fast).toContain('quick');
    expect(fast).not.toContain('careful');

    const r = ok(await p.run('--set', 'mode=careful'));
    const s = statuses(r);
    expect(s.careful).toBe('ran');
    expect(s.quick).toBeUndefined();
    expect(p.exists('quick.txt')).toBe(false);
    expect(p.read('careful.txt')).toBe('careful\n');
  });
});

describe.concurrent('targets', () => {
  const TARGETS = `version: 1
vars:
  langs: [fr, de]
groups:
  default: [solo]
  both: ["tr@*", other]
stages:
  tr:
    foreach: langs
    cmd: echo \${item} > "out/\${item}.txt"
    outs: ["out/\${item}.txt"]
  solo:
    cmd: echo solo > solo.txt
    outs: [solo.txt]
  other:
    cmd: echo other > other.txt
    outs: [other.txt]
`;

  test('no target runs the default group; a group and a glob select by name', async () => {
    const p = project(TARGETS);
    expect(Object.keys(statuses(ok(await p.run())))).toEqual(['solo']);
    const group = Object.keys(statuses(ok(await p.run('both')))).sort();
    expect(group).toHaveLength(3);
    expect(group[0]).toBe('other');
    expect(group.slice(1).every((n) => n.startsWith('tr@'))).toBe(true);
    const glob = Object.keys(statuses(ok(await p.run('tr@f*'))));
    expect(glob).toHaveLength(1);
    expect(glob[0]).toMatch(/^tr@fr/);
  });
});

describe.concurrent('clean and gc', () => {
  test('clean removes outputs that the next run restores; gc drops objects no record refers to', async () => {
    const p = project(`version: 1
stages:
  up:
    cmd: tr a-z A-Z < in.txt > up.txt; echo up >> ran.log
    deps: [in.txt]
    outs: [up.txt]
`, { 'in.txt': 'abc\n' });
    ok(await p.run());
    p.write('in.txt', 'zz\n');
    ok(await p.run());
    ok(await p.pipe(['clean'], { json: false }));
    expect(p.exists('up.txt')).toBe(false);
    expect(statuses(ok(await p.run()))).toEqual({ up: 'restored' });
    expect(p.read('up.txt')).toBe('ZZ\n');

    ok(await p.pipe(['gc'], { json: false }));
    expect(p.read('up.txt')).toBe('ZZ\n');
    rmSync(p.path('up.txt'));
    expect(statuses(ok(await p.run()))).toEqual({ up: 'restored' }); // the current output survives gc
    p.write('in.txt', 'abc\n');
    expect(statuses(ok(await p.run()))).toEqual({ up: 'ran' }); // the old one did not
    expect(p.lines('ran.log')).toEqual(['up', 'up', 'up']);
  });
});
