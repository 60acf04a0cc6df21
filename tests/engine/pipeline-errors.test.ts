/** A wrong pipeline.yaml: exit 2, one located message (pipeline.yaml:LINE:COL), never a stack trace. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { expectExit, makeProject, ok, type PipeResult, type TestProject, projectsRemovedAfterAll, statuses } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const outsideDir = mkdtempSync(path.join(tmpdir(), 'pipe-outside-'));
const outsideFile = path.join(outsideDir, 'secret.yaml');
writeFileSync(outsideFile, 'secret: s3cr3t-value\n');
afterAll(() => rmSync(outsideDir, { recursive: true, force: true }));

const STACK_FRAME = /^\s+at .+[:(]\d+:\d+\)?$/m;

/** pipe exited 2 with no stack trace; returns what it printed (both streams). */
function userError(r: PipeResult): string {
  expectExit(r, 2);
  const text = r.stdout + r.stderr;
  expect(text).not.toMatch(STACK_FRAME);
  expect(text).not.toMatch(/\bat file:\/\//);
  return text;
}

describe.concurrent('pipeline errors', () => {
  test('a cycle exits 2 and prints the cycle path with file:line:col', async () => {
    const p = project(`version: 1
stages:
  a:
    cmd: cat c.txt > a.txt
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cat b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
`);
    for (const command of [['run'], ['validate']]) {
      const text = userError(await p.pipe(command, { json: false }));
      expect(text).toMatch(/pipeline\.yaml:\d+:\d+/);
      expect(text).toMatch(/cycle/);
      expect(text).toMatch(/(a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    }
    expect(p.exists('a.txt') || p.exists('b.txt') || p.exists('c.txt')).toBe(false);
  });

  test('two stages declaring the same output exit 2 naming both', async () => {
    const p = project(`version: 1
stages:
  first:
    cmd: echo 1 > same.txt
    outs: [same.txt]
  second:
    cmd: echo 2 > same.txt
    outs: [same.txt]
`);
    const text = userError(await p.pipe(['run'], { json: false }));
    expect(text).toContain('first');
    expect(text).toContain('second');
    expect(text).toContain('same.txt');
    expect(text).toMatch(/pipeline\.yaml:6:3/);
  });

  test('bad YAML exits 2 with pipeline.yaml:LINE:COL', async () => {
    const p = project('version: 1\nstages:\n  a:\n    cmd: "echo unterminated\n    outs: [x.txt]\n');
    const text = userError(await p.pipe(['run'], { json: false }));
    expect(text).toMatch(/pipeline\.yaml:\d+:\d+/);
    const flow = project('version: 1\nstages:\n  a:\n    cmd: echo hi > x.txt\n    outs: [x.txt\n');
    const flowText = userError(await flow.pipe(['validate'], { json: false }));
    expect(flowText).toMatch(/pipeline\.yaml:[5-6]:\d+/);
  });

  test('an unknown key exits 2 with its position and a "did you mean"', async () => {
    const p = project('version: 1\nstages:\n  a:\n    cmd: echo hi > x.txt\n    otus: [x.txt]\n');
    const text = userError(await p.pipe(['run'], { json: false }));
    expect(text).toContain('pipeline.yaml:5:5');
    expect(text).toContain("'otus'");
    expect(text).toMatch(/did you mean 'outs'/);
    const nested = project('version: 1\nstages:\n  a:\n    cmd: echo hi > x.txt\n    outs: [x.txt]\n    resources: {cpus: 2}\n');
    const nestedText = userError(await nested.pipe(['validate'], { json: false }));
    expect(nestedText).toContain('pipeline.yaml:6:17');
    expect(nestedText).toMatch(/did you mean 'cpu'/);
  });

  test('a value of the wrong type is located and named as such, not as missing', async () => {
    const p = project('version: 1\nstages:\n  a:\n    cmd: echo hi > x.txt\n    outs: [x.txt]\n    resources: {cpu: many}\n');
    const text = userError(await p.pipe(['validate'], { json: false }));
    expect(text).toContain('pipeline.yaml:6:22');
    expect(text).toMatch(/resources\.cpu: expected number, got string/);
  });

  test('a stage depending on its own output exits 2', async () => {
    const p = project('version: 1\nstages:\n  grow:\n    cmd: echo more >> log.txt\n    deps: [log.txt]\n    outs: [log.txt]\n');
    const text = userError(await p.pipe(['run'], { json: false }));
    expect(text).toContain('pipeline.yaml:3:3');
    expect(text).toMatch(/own output 'log\.txt'/);
    expect(p.exists('log.txt')).toBe(false);
  });

  test('an unknown var in a command is located and suggested', async () => {
    const p = project('version: 1\nvars: {media: a.mp4}\nstages:\n  a:\n    cmd: echo ${medai} > x.txt\n    outs: [x.txt]\n');
    const text = userError(await p.pipe(['run'], { json: false }));
    expect(text).toMatch(/pipeline\.yaml:5:\d+/);
    expect(text).toMatch(/'medai'.*\bmedia\b/); // suggested or listed
  });

  test('an unknown target exits 2', async () => {
    const p = project('version: 1\nstages:\n  build:\n    cmd: echo > x.txt\n    outs: [x.txt]\n');
    const text = userError(await p.pipe(['run', 'biuld'], { json: false }));
    expect(text).toContain('biuld');
    expect(p.exists('x.txt')).toBe(false);
  });

  test('a wrong command line exits 2 without running anything', async () => {
    const p = project('version: 1\nstages:\n  build:\n    cmd: echo > x.txt\n    outs: [x.txt]\n');
    for (const args of [['run', '--bogus'], ['run', '-j', '0'], ['run', '--set', 'novalue'], ['frobnicate'], ['explain', 'nope']]) {
      userError(await p.pipe(args, { json: false }));
    }
    expect(p.exists('x.txt')).toBe(false);
  });

  test('validate: exit 0 for a valid file', async () => {
    const p = project('version: 1\nstages:\n  build:\n    cmd: echo > x.txt\n    outs: [x.txt]\n');
    const r = ok(await p.pipe(['validate'], { json: false }));
    expect(r.stdout + r.stderr).toMatch(/valid/);
    expect(p.exists('x.txt')).toBe(false);
  });
});

describe.concurrent('shell quoting of interpolated values', () => {
  test('a var holding shell syntax is one argument, never a second command', async () => {
    const p = project(`version: 1
vars:
  name: "a.txt; touch pwned"
  spaced: "two  words $HOME \`id\`"
stages:
  q:
    cmd: printf '[%s]\\n' \${name} \${spaced} > out.txt
    params: [name, spaced]
    outs: [out.txt]
`);
    ok(await p.run());
    expect(p.read('out.txt')).toBe('[a.txt; touch pwned]\n[two  words $HOME `id`]\n');
    expect(p.exists('pwned')).toBe(false);

    ok(await p.run('--set', "name=x'; touch pwned2; echo '"));
    expect(p.read('out.txt')).toBe("[x'; touch pwned2; echo ']\n[two  words $HOME `id`]\n");
    expect(p.exists('pwned2')).toBe(false);
  });

  test('a reference the user already quoted ("\${x}" or \'\${x}\') keeps its exact value, still one argument', async () => {
    const evil = `a"; touch pwned1; echo "$(touch pwned2)\`touch pwned3\`\\ 'q' $HOME`;
    const p = project(`version: 1
vars:
  name: "my file.txt"
  evil: ${JSON.stringify(evil)}
stages:
  q:
    cmd: printf '[%s]\\n' "\${name}" "dir/\${name}" "\${evil}" '\${evil}' > out.txt
    outs: [out.txt]
`);
    ok(await p.run());
    expect(p.read('out.txt')).toBe(`[my file.txt]\n[dir/my file.txt]\n[${evil}]\n[${evil}]\n`);
    for (const file of ['pwned1', 'pwned2', 'pwned3']) expect(p.exists(file)).toBe(false);
  });

  test('an argv-list command gets each value as one argument without a shell', async () => {
    const p = project(`version: 1
vars:
  name: "a b; touch pwned"
stages:
  q:
    cmd: [sh, -c, 'printf "[%s]\\n" "$@" > out.txt', sh, "\${name}", "$HOME"]
    outs: [out.txt]
`);
    ok(await p.run());
    expect(p.read('out.txt')).toBe('[a b; touch pwned]\n[$HOME]\n');
    expect(p.exists('pwned')).toBe(false);
  });
});

/** A chain s0 <- s1 <- ... of `n` stages through needs, one line each; `closed` makes s0 need the last one. */
function chain(n: number, closed = false): string {
  const lines = ['version: 1', 'stages:'];
  for (let i = 0; i < n; i++) {
    const need = i > 0 ? `s${i - 1}` : closed ? `s${n - 1}` : undefined;
    lines.push(`  s${i}: {cmd: "true"${need ? `, needs: [${need}]` : ''}}`);
  }
  return lines.join('\n') + '\n';
}

describe('graphs of any depth (no recursion)', () => {
  test('a 100,000-stage chain plans and reports status; a cycle through it fails validate with a short located error', async () => {
    const p = project(chain(100_000));
    const slow = { json: false, timeoutMs: 60_000 };
    // parsing 100,000 stages is most of the time (the yaml package): parse twice only, status reuses the compiled plan
    const plan = ok(await p.pipe(['run', '-n'], slow));
    expect(plan.stdout + plan.stderr).toContain('100000 would run');
    const status = ok(await p.pipe(['status', 's99999'], slow));
    expect(status.stdout).toContain('s99999');
    expect(p.exists('.pipe/state.log')).toBe(false);

    p.pipeline(chain(100_000, true));
    const text = userError(await p.pipe(['validate'], slow));
    expect(text).toMatch(/pipeline\.yaml:3:3: dependency cycle: s0 -> s1 -> .* -> s99999 -> s0 \(100000 stages\)/);
    expect(text.length).toBeLessThan(2_000);
  }, 120_000);
});

describe.concurrent('references that loop back', () => {
  test('a stage that needs itself is a located error', async () => {
    const p = project('version: 1\nstages:\n  other: {cmd: "true"}\n  a:\n    cmd: echo > a.txt\n    needs: [other, a]\n    outs: [a.txt]\n');
    const text = userError(await p.pipe(['validate'], { json: false }));
    expect(text).toContain("pipeline.yaml:6:20: stage 'a' lists itself in needs");
    userError(await p.pipe(['run'], { json: false }));
    expect(p.exists('a.txt')).toBe(false);
  });

  test('a foreach template that needs itself is a located error', async () => {
    const p = project('version: 1\nvars: {films: [x, y]}\nstages:\n  t:\n    foreach: films\n    cmd: echo ${item}\n    needs: [t]\n');
    expect(userError(await p.pipe(['validate'], { json: false }))).toContain("pipeline.yaml:7:13: stage 't' lists itself in needs");
  });

  test('a group that contains itself through other groups is a located error', async () => {
    const p = project('version: 1\ngroups:\n  all: [core, extra]\n  core: [a]\n  extra: [more]\n  more: [all]\nstages:\n  a: {cmd: "true"}\n');
    const text = userError(await p.pipe(['validate'], { json: false }));
    expect(text).toContain('pipeline.yaml:6:10: group cycle: all -> extra -> more -> all');
  });
});

describe.concurrent('paths pipe must never write', () => {
  const stage = (extra: string) => `version: 1\nimports:\n  models: config/models.yaml\nstages:\n  a:\n    cmd: echo > x.txt\n${extra}`;
  const files = { 'config/models.yaml': 'm: 1\n' };

  test.each([
    ['.', "output '.' is the project root itself"],
    ['./', "output '.' is the project root itself"],
    ['sub/..', "output '.' is the project root itself"],
    ['.git', "output '.git' is .git"],
    ['.git/config', "output '.git/config' is inside .git"],
    ['.pipe', "output '.pipe' is .pipe"],
    ['.pipe/objects', "output '.pipe/objects' is inside .pipe"],
    ['pipeline.yaml', "output 'pipeline.yaml' is the pipeline file"],
    ['config', "output 'config' contains a file the pipeline imports (config/models.yaml)"],
    ['config/models.yaml', "output 'config/models.yaml' is a file the pipeline imports"],
  ])('outs: [%s] is refused where it is written', async (out, message) => {
    const p = project(stage(`    outs: [${out}]\n`), files);
    for (const command of [['validate'], ['run'], ['clean']]) {
      expect(userError(await p.pipe(command, { json: false }))).toContain(`pipeline.yaml:7:12: ${message}`);
    }
    expect(p.exists('x.txt')).toBe(false);
    expect(p.read('config/models.yaml')).toBe('m: 1\n');
  });

  test('the pipeline file given with -f is protected whatever its name', async () => {
    const p = project('version: 1\nstages:\n  a: {cmd: "true"}\n');
    p.write('build.yaml', 'version: 1\nstages:\n  a:\n    cmd: "true"\n    outs: [build.yaml]\n    log: build.yaml\n');
    const text = userError(await p.pipe(['-f', 'build.yaml', 'validate'], { json: false }));
    expect(text).toContain("build.yaml:5:12: output 'build.yaml' is the pipeline file");
    expect(text).toContain("build.yaml:6:10: log 'build.yaml' is the pipeline file");
  });

  test.each([
    ['pipeline.yaml', "log 'pipeline.yaml' is the pipeline file"],
    ['config/models.yaml', "log 'config/models.yaml' is a file the pipeline imports"],
    ['.git/HEAD', "log '.git/HEAD' is inside .git"],
    ['.pipe/state.log', "log '.pipe/state.log' is inside .pipe"],
    ['.', "log '.' is the project root itself"],
  ])('log: %s is refused', async (log, message) => {
    const p = project(stage(`    log: ${log}\n`), files);
    expect(userError(await p.pipe(['validate'], { json: false }))).toContain(`pipeline.yaml:7:10: ${message}`);
  });

  test("a log may not be another stage's log, a dep or an output; .pipe/logs/ is fine", async () => {
    const p = project(`version: 1
stages:
  a:
    cmd: echo > out.txt
    deps: [data]
    outs: [out.txt]
    log: .pipe/logs/mine.log
  b:
    cmd: "true"
    log: out.txt
  c:
    cmd: "true"
    log: data/c.log
  d:
    cmd: "true"
    log: shared.log
  e:
    cmd: "true"
    log: shared.log
`);
    const text = userError(await p.pipe(['validate'], { json: false }));
    expect(text).toContain("pipeline.yaml:10:10: log 'out.txt' overlaps output 'out.txt' of stage 'a'");
    expect(text).toContain("pipeline.yaml:13:10: log 'data/c.log' overlaps dep 'data' of stage 'a'");
    expect(text).toContain("pipeline.yaml:19:10: log 'shared.log' is also the log of stage 'd'");
    expect(text).not.toContain('mine.log');
  });

  test.each([
    ['hf_home', '.', "cache root hf_home '.' is the project root itself"],
    ['torch_home', '.git', "cache root torch_home '.git' is .git"],
    ['mlx_home', '.pipe', "cache root mlx_home '.pipe' is .pipe"],
    ['hf_home', 'config', "cache root hf_home 'config' contains a file the pipeline imports"],
  ])('cache: {%s: %s} is refused', async (key, value, message) => {
    const p = project(`version: 1\nimports:\n  models: config/models.yaml\ncache:\n  ${key}: ${value}\nstages:\n  a: {cmd: "true"}\n`, files);
    expect(userError(await p.pipe(['validate'], { json: false }))).toMatch(new RegExp(`pipeline\\.yaml:5:\\d+: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});

describe.concurrent('special files are never read', () => {
  const importing = (file: string) => `version: 1\nimports:\n  cfg: ${file}\nstages:\n  a:\n    cmd: echo > a.txt\n    outs: [a.txt]\n`;

  test.each([
    ['a FIFO', (p: TestProject) => execFileSync('mkfifo', [p.path('cfg.yaml')]), 'is a FIFO (named pipe), not a regular file'],
    ['a symlink to a FIFO', (p: TestProject) => { execFileSync('mkfifo', [p.path('fifo')]); symlinkSync('fifo', p.path('cfg.yaml')); }, 'is a FIFO (named pipe), not a regular file'],
    ['a folder', (p: TestProject) => mkdirSync(p.path('cfg.yaml')), 'is a folder, not a regular file'],
    ['a symlink loop', (p: TestProject) => symlinkSync('cfg.yaml', p.path('cfg.yaml')), 'a symlink loop'],
    ['a symlink to /dev/zero', (p: TestProject) => symlinkSync('/dev/zero', p.path('cfg.yaml')), 'leads outside the project (to /dev/zero)'],
    ['a symlink to a file outside the project', (p: TestProject) => symlinkSync(outsideFile, p.path('cfg.yaml')), 'leads outside the project'],
  ])('an import that is %s is a located error, and nothing hangs', async (_what, make, message) => {
    const p = project(importing('cfg.yaml'));
    make(p);
    for (const command of [['validate'], ['run'], ['status']]) {
      const text = userError(await p.pipe(command, { json: false, timeoutMs: 15_000 }));
      expect(text).toContain(`pipeline.yaml:3:8: cannot load 'cfg.yaml': ${message}`);
      expect(text).not.toContain('s3cr3t-value');
    }
    expect(p.exists('a.txt')).toBe(false);
  });

  test('an imports folder that is a symlink out of the project is refused too', async () => {
    const p = project(importing('ext/secret.yaml'));
    symlinkSync(path.dirname(outsideFile), p.path('ext'));
    expect(userError(await p.pipe(['validate'], { json: false }))).toContain("cannot load 'ext/secret.yaml': leads outside the project");
  });

  test('a pipeline.yaml that is a FIFO, or a symlink to /dev/zero, is refused without reading it', async () => {
    const fifo = project('');
    rmSync(fifo.path('pipeline.yaml'));
    execFileSync('mkfifo', [fifo.path('pipeline.yaml')]);
    const zero = project('');
    rmSync(zero.path('pipeline.yaml'));
    symlinkSync('/dev/zero', zero.path('pipeline.yaml'));
    for (const [p, message] of [[fifo, 'is a FIFO'], [zero, 'is a character device']] as const) {
      for (const command of [['validate'], ['run'], ['-f', 'pipeline.yaml', 'status']]) {
        expect(userError(await p.pipe(command, { json: false, timeoutMs: 15_000 }))).toContain(`pipeline.yaml: ${message}`);
      }
    }
  });
});

describe.concurrent('names, tags, shorthands, allow_outside', () => {
  test('stages, vars, groups and deps named __proto__ or constructor are ordinary names', async () => {
    const p = project(`version: 1
vars: {__proto__: one, constructor: two}
groups:
  toString: [__proto__, constructor]
stages:
  __proto__:
    cmd: echo \${__proto__} > a.txt
    deps: [__proto__]
    params: [__proto__]
    outs: [a.txt]
  constructor:
    cmd: cat a.txt > b.txt; echo \${constructor} >> b.txt
    deps: [a.txt]
    outs: [b.txt]
`, { ['__proto__']: 'v1\n' }); // computed: a plain `__proto__:` key would set the prototype
    const list = ok(await p.pipe(['list'], { json: false }));
    expect(list.stdout).toMatch(/__proto__[\s\S]*constructor[\s\S]*toString/);
    ok(await p.run('toString'));
    expect(p.read('b.txt')).toBe('one\ntwo\n');
    expect(statuses(ok(await p.run()))).toEqual({ __proto__: 'skipped', constructor: 'skipped' });
    p.write('__proto__', 'v2\n'); // a dep named __proto__ enters the key
    expect(statuses(ok(await p.run()))).toEqual({ __proto__: 'ran', constructor: 'skipped' });
    expect(statuses(ok(await p.run('--set', '__proto__=three')))).toEqual({ __proto__: 'ran', constructor: 'ran' });
    userError(await p.pipe(['run', 'hasOwnProperty'], { json: false }));
  });

  test('an unsupported YAML tag is a located error, not silently dropped', async () => {
    for (const [value, tag] of [['!env HOME', '!env'], ['!!binary aGk=', '!!binary'], ['!!set {a}', '!!set']]) {
      const p = project(`version: 1\nvars:\n  x: ${value}\nstages:\n  a: {cmd: "true"}\n`);
      expect(userError(await p.pipe(['validate'], { json: false }))).toContain(`pipeline.yaml:3:6: unsupported YAML tag '${tag}'`);
    }
    ok(await project('version: 1\nvars:\n  x: !!str 12\n  y: "!not a tag"\nstages:\n  a: {cmd: "true"}\n').pipe(['validate'], { json: false }));
  });

  test('an args entry naming an undeclared var is a located error with a suggestion', async () => {
    const p = project('version: 1\nvars: {media: a.mp4}\nargs:\n  - flags: [-m, --media]\n    var: medai\nstages:\n  a: {cmd: "true"}\n');
    const text = userError(await p.pipe(['validate'], { json: false }));
    expect(text).toContain("pipeline.yaml:5:10: args: -m/--media sets unknown var 'medai' (did you mean 'media'?)");
  });

  test('allow_outside: [/] allows deps anywhere, while relative paths stay project paths', async () => {
    const p = project(`version: 1
allow_outside: [/]
stages:
  a:
    cmd: cat ${outsideFile} local.txt > out.txt
    deps: [${outsideFile}, local.txt]
    outs: [out.txt]
`, { 'local.txt': 'here\n' });
    expect(statuses(ok(await p.run()))).toEqual({ a: 'ran' });
    expect(statuses(ok(await p.run()))).toEqual({ a: 'skipped' });
    p.write('local.txt', 'changed\n');
    expect(statuses(ok(await p.run()))).toEqual({ a: 'ran' });
    const outs = project(`version: 1\nallow_outside: [/]\nstages:\n  a:\n    cmd: "true"\n    outs: [${outsideFile}]\n`);
    expect(userError(await outs.pipe(['validate'], { json: false }))).toContain('is outside the project root');
  });
});

describe('signals while pipe starts up', () => {
  /** CPU time the process has used, in clock ticks (utime + stime of /proc/PID/stat). */
  const cpuTicks = (pid: number): number => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };

  test.each(['SIGTERM', 'SIGINT'] as const)('%s while the pipeline is still loading exits 130 and records nothing', async (signal) => {
    // loading 20,000 stages takes seconds of CPU; starting node and reaching pipe's first line takes a fraction
    // of the 0.4 s waited for, so the signal lands while the pipeline is being read, before run's own handlers
    const p = project(chain(20_000).replace('s0: {cmd: "true"}', 's0: {cmd: "touch ran.txt", outs: [ran.txt]}'));
    const child = p.start(['run'], { json: false, timeoutMs: 60_000 });
    const pid = child.pid!;
    while (cpuTicks(pid) < 40) await new Promise((r) => setTimeout(r, 5));
    process.kill(pid, signal);
    const r = await child;
    expect([r.exitCode, r.signal], String(r.stderr)).toEqual([130, undefined]);
    expect(p.exists('ran.txt')).toBe(false);
    expect(p.exists('.pipe/state.log')).toBe(false);
  }, 60_000);
});
