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
