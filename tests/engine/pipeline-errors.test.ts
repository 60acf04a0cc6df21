/** A wrong pipeline.yaml: exit 2, one located message (pipeline.yaml:LINE:COL), never a stack trace. */
import { afterAll, describe, expect, test } from 'vitest';
import { expectExit, makeProject, ok, type PipeResult, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

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
