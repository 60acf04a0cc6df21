/** The pipeline's own shorthands (`args:`) work for run, status, graph and clean alike. */
import { expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const PIPELINE = `version: 1
vars: {lang: es}
args:
  - {flags: [-t, --target], var: lang}
stages:
  greet:
    cmd: [sh, -c, "echo hola-$0 > greet.txt", "\${lang}"]
    outs: [greet.txt]
    params: [lang]
`;

test('run, status, graph and clean accept the declared shorthands; unknown ones are errors', async () => {
  const p = project(PIPELINE);
  expect(stageEvents(ok(await p.run('-t', 'ca'))).greet?.status).toBe('ran');
  const same = JSON.parse(ok(await p.pipe(['status', '-t', 'ca'])).stdout);
  expect(same.stages[0]).toMatchObject({ name: 'greet', state: 'fresh' });
  const other = JSON.parse(ok(await p.pipe(['status', '--target', 'fr'])).stdout);
  expect(other.stages[0].state).toBe('stale');
  expect(other.stages[0].reasons.join(' ')).toMatch(/param lang changed: 'ca' -> 'fr'/);
  const graph = JSON.parse(ok(await p.pipe(['graph', '--format', 'json', '-t', 'ca'])).stdout);
  expect(graph.nodes.map((n: { id: string }) => n.id)).toEqual(['greet']);
  ok(await p.pipe(['clean', '-t', 'ca'], { json: false }));
  expect(p.exists('greet.txt')).toBe(false);
  const bad = expectExit(await p.pipe(['status', '--tagret', 'x'], { json: false }), 2);
  expect(bad.stderr).toMatch(/unknown option '--tagret' \(did you mean '--target'\?\)/);
});

test('explain, env, list and validate take the same shorthands and targets as status', async () => {
  const p = project(PIPELINE);
  ok(await p.run('-t', 'ca'));
  const explained = JSON.parse(ok(await p.pipe(['explain', '-t', 'ca', 'greet'])).stdout);
  expect(explained).toMatchObject({ stage: 'greet', state: 'fresh' });
  const otherOrder = JSON.parse(ok(await p.pipe(['explain', 'greet', '--target=fr'])).stdout);
  expect(otherOrder.state).toBe('stale');
  ok(await p.pipe(['env', '-t', 'ca', 'greet'], { json: false }));
  ok(await p.pipe(['env', 'greet.txt', '-t', 'ca'], { json: false }));
  const listed = ok(await p.pipe(['list', '-t', 'ca'], { json: false }));
  expect(listed.stdout).toContain('greet');
  ok(await p.pipe(['validate', '-t', 'ca'], { json: false }));
  expect(expectExit(await p.pipe(['explain', '--tagret', 'x', 'greet'], { json: false }), 2).stderr).toMatch(/did you mean '--target'/);
  expect(expectExit(await p.pipe(['env', '-t', 'ca', 'nope'], { json: false }), 2).stderr).toMatch(/unknown target 'nope'/);
});

test('--help of run and the other commands lists the shorthands of the pipeline found here', async () => {
  const p = project(PIPELINE.replace('var: lang}', 'var: lang, help: "language of the greeting"}'));
  for (const command of ['run', 'status', 'explain', 'env', 'graph', 'clean', 'list', 'validate']) {
    const help = ok(await p.pipe([command, '--help'], { json: false }));
    expect(help.stdout, command).toMatch(/-t, --target LANG +language of the greeting \(sets var lang\)/);
    expect(help.stdout, command).not.toContain('--media');
  }
  const none = project('version: 1\nstages:\n  a:\n    cmd: echo > a.txt\n    outs: [a.txt]\n');
  expect(ok(await none.pipe(['run', '--help'], { json: false })).stdout).toMatch(/declares none/);
  const broken = project('version: 1\nstages: [\n');
  const generic = ok(await broken.pipe(['run', '--help'], { json: false }));
  expect(generic.stdout).toMatch(/Shorthand options declared under `args:`/);
  expect(generic.stdout).not.toContain('--media');
});
