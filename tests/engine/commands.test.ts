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

describe.concurrent('what a run shows, and where', () => {
  test('run -n writes its plan to stdout: ○ would run, ↺ would restore, never ✓; stderr stays empty', async () => {
    const p = project(PAIR, { 'extra.txt': 'x\n' });
    const first = ok(await p.pipe(['run', '-n'], { json: false }));
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^○ make {2}would run: never run$/m);
    expect(first.stdout).toMatch(/^○ copy {2}would run: /m);
    expect(first.stdout).toMatch(/3 would run, 0 up to date/);
    expect(first.stdout).not.toContain('✓');
    ok(await p.run());
    ok(await p.run('--set', 'n=2'));
    const back = ok(await p.pipe(['run', '-n'], { json: false })); // n=1 again: its outputs are in the cache
    expect(back.stdout).toMatch(/^↺ make {2}would restore from cache: /m);
    expect(back.stdout).toMatch(/^· alone {2}up to date$/m);
    expect(back.stdout).not.toContain('✓');
  });

  test('-q prints the summary on success (also from the no-op snapshot) and failures with their log tail', async () => {
    const p = project(PAIR, { 'extra.txt': 'x\n' });
    const ran = ok(await p.pipe(['run', '-q'], { json: false }));
    expect(ran.stdout).toBe('');
    expect(ran.stderr.trim()).toMatch(/^3 ran, 0 up to date in \S+$/);
    const again = ok(await p.pipe(['run', '-q'], { json: false }));
    expect(again.stderr.trim()).toMatch(/^0 ran, 3 up to date in \S+$/);
    const failing = project(`version: 1
stages:
  bad:
    cmd: echo why-it-broke; exit 3
    outs: [bad.txt]
`);
    const failed = await failing.pipe(['run', '-q'], { json: false });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/✗ bad failed: command failed \(exit code 3\)/);
    expect(failed.stderr).toMatch(/│ why-it-broke/);
    expect(failed.stderr).toMatch(/0 ran, 0 up to date, 1 failed/);
  });

  test('-v prints each command before it runs, then its output as it comes, prefixed with [stage]', async () => {
    const p = project(`version: 1
stages:
  first:
    cmd: echo one; echo two; echo 1 > a.txt
    outs: [a.txt]
  second:
    cmd: [sh, -c, "echo \\"it's $0\\"; cat a.txt > b.txt", second]
    deps: [a.txt]
    outs: [b.txt]
`);
    const r = ok(await p.pipe(['run', '-v'], { json: false }));
    const lines = r.stderr.split('\n');
    const at = (text: string) => lines.indexOf(text);
    expect(at('[first] $ echo one; echo two; echo 1 > a.txt')).toBeGreaterThan(at('▶ first  (never run)'));
    expect(at('[first] one')).toBeGreaterThan(at('[first] $ echo one; echo two; echo 1 > a.txt'));
    expect(at('[first] two')).toBeGreaterThan(at('[first] one'));
    expect(lines.findIndex((l) => l.startsWith('✓ first'))).toBeGreaterThan(at('[first] two'));
    expect(r.stderr).toContain(`[second] $ sh -c 'echo "it'\\''s $0"; cat a.txt > b.txt' second`);
    expect(at("[second] it's second")).toBeGreaterThan(0);
    // without -v: none of it
    const quiet = ok(await p.pipe(['run', '--force'], { json: false }));
    expect(quiet.stderr).not.toContain('[first]');
  });

  test('explain shows a long changed command around where it changed, not two equal cut strings', async () => {
    const long = 'x'.repeat(150);
    const yaml = (tail: string) => `version: 1\nstages:\n  s:\n    cmd: echo ${long} ${tail} > s.txt\n    outs: [s.txt]\n`;
    const p = project(yaml('alpha'));
    ok(await p.run());
    p.pipeline(yaml('omega'));
    const r = ok(await p.pipe(['explain', 's'], { json: false }));
    const line = r.stdout.split('\n').find((l) => l.includes('command:'))!;
    const [before, now] = line.replace(/^.*command: /, '').split(' -> ');
    expect(before).not.toBe(now);
    expect(before).toContain('alpha');
    expect(now).toContain('omega');
    expect(before!.startsWith('…')).toBe(true);
  });
});

describe.concurrent('targets by output path', () => {
  const OUTS = `version: 1
stages:
  sort:
    cmd: mkdir -p sorted && echo a > sorted/A.bam && echo b > sorted/B.bam
    outs: [sorted]
  report:
    cmd: cat sorted/A.bam > reports/summary.txt
    deps: [sorted]
    outs: [reports/summary.txt]
  other:
    cmd: echo o > other.txt
    outs: [other.txt]
`;

  test('a declared output, or a file inside an output folder, selects the stage that produces it', async () => {
    const p = project(OUTS, { 'input.txt': 'i\n' });
    expect(statuses(ok(await p.run('sorted/A.bam')))).toEqual({ sort: 'ran' });
    expect(statuses(ok(await p.run('./reports/summary.txt')))).toEqual({ sort: 'skipped', report: 'ran' });
    expect(statuses(ok(await p.run('sorted/')))).toEqual({ sort: 'skipped' });
    const status = JSON.parse(ok(await p.pipe(['status', 'other.txt'])).stdout);
    expect(status.stages.map((s: { name: string }) => s.name)).toEqual(['other']);
    const explained = JSON.parse(ok(await p.pipe(['explain', 'reports/summary.txt'])).stdout);
    expect(explained.stage).toBe('report');
  });

  test('an unknown target is an error with a did-you-mean over names and outputs; a source file is named as such', async () => {
    const p = project(OUTS, { 'input.txt': 'i\n' });
    const typo = await p.pipe(['run', 'sortd/A.bam'], { json: false });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown target 'sortd\/A\.bam' \(did you mean 'sorted\/A\.bam'\?\)/);
    const name = await p.pipe(['run', 'reprot'], { json: false });
    expect(name.stderr).toMatch(/did you mean 'report'/);
    const source = await p.pipe(['run', 'input.txt'], { json: false });
    expect(source.code).toBe(2);
    expect(source.stderr).toMatch(/'input\.txt' exists, but no stage declares it/);
    expect(p.exists('sorted')).toBe(false);
  });
});

describe.concurrent('--set', () => {
  test('a list value works in the bundled CLI', async () => {
    const p = project(`version: 1
vars: {media: a.mp4}
stages:
  each:
    foreach: media
    cmd: echo \${item} > \${job}.txt
    outs: ["\${job}.txt"]
`);
    const r = ok(await p.run('--set', 'media=[a.mp4, b.mp4]'));
    expect(Object.keys(stageEvents(r)).length).toBe(2);
  });

  test('a path inside an imported var is settable; structured values are YAML; bad heads get a did-you-mean', async () => {
    const p = project(`version: 1
imports: {p: params.yaml}
vars:
  opts: {a: 0}
stages:
  train:
    cmd: echo n=\${p.train.n_est} depth=\${p.train.depth} > model.txt
    params: [p.train.n_est]
    outs: [model.txt]
  show:
    cmd: echo a=\${opts.a} b=\${opts.b.1} > opts.txt
    params: [opts]
    outs: [opts.txt]
`, { 'params.yaml': 'train:\n  n_est: 3\n  depth: 2\n' });
    ok(await p.run('--set', 'p.train.n_est=5', '--set', 'opts={a: 1, b: [x, y]}'));
    expect(p.read('model.txt')).toBe('n=5 depth=2\n');
    expect(p.read('opts.txt')).toBe('a=1 b=y\n');
    const same = JSON.parse(ok(await p.pipe(['status', '--set', 'p.train.n_est=5', '--set', 'opts={a: 1, b: [x, y]}'])).stdout);
    expect(same.stages.map((s: { state: string }) => s.state)).toEqual(['fresh', 'fresh']);
    const bad = await p.pipe(['run', '--set', 'q.train.n_est=5'], { json: false });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--set q\.train\.n_est: no such var \(did you mean 'p'\?\)/);
    const notMap = await p.pipe(['run', '--set', 'p.train.n_est.x=1'], { json: false });
    expect(notMap.code).toBe(2);
    expect(notMap.stderr).toMatch(/'p\.train\.n_est' is 3, not a mapping/);
    const badYaml = await p.pipe(['run', '--set', 'opts={a: 1'], { json: false });
    expect(badYaml.code).toBe(2);
    expect(badYaml.stderr).toMatch(/must be a mapping/);
  });

  test('a --set that only pipe would see is refused: the stage reads the imported file itself', async () => {
    const p = project(`version: 1
imports: {p: params.yaml}
stages:
  train:
    cmd: cat params.yaml > model.txt
    deps: [params.yaml]
    params: [p.train]
    outs: [model.txt]
`, { 'params.yaml': 'train:\n  n_est: 3\n' });
    const r = await p.pipe(['run', '--set', 'p.train.n_est=5'], { json: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--set p\.train\.n_est: stage 'train' reads params\.yaml itself .* never read/);
    expect(p.exists('model.txt')).toBe(false);
    ok(await p.run());
  });
});

test('pipe creates .pipe/ with a .gitignore that ignores everything in it', async () => {
  const p = project(PAIR, { 'extra.txt': 'x\n' });
  ok(await p.pipe(['status']));
  expect(p.read('.pipe/.gitignore').split('\n')).toContain('*');
  rmSync(p.path('.pipe'), { recursive: true });
  ok(await p.run());
  expect(p.read('.pipe/.gitignore').split('\n')).toContain('*');
});
