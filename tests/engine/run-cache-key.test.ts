/** The run-cache never hands one stage the outputs of another that happens to run the same command. */
import { afterEach, expect, test } from 'vitest';
import { makeProject, ok, stageEvents, type TestProject } from '../helpers/pipe-project.js';

let project: TestProject | undefined;
afterEach(() => project?.remove());

test('two stages with the same command and deps but other outputs both run', async () => {
  project = makeProject(`version: 1
stages:
  first:
    cmd: [sh, -c, "echo same > a.txt; echo same > b.txt"]
    outs: [a.txt]
  second:
    cmd: [sh, -c, "echo same > a.txt; echo same > b.txt"]
    outs: [b.txt]
`);
  expect(stageEvents(ok(await project.run('first'))).first?.status).toBe('ran');
  // same command, same (no) deps: only the declared outputs tell the two apart
  expect(stageEvents(ok(await project.run('second'))).second?.status).toBe('ran');
  const explain = ok(await project.pipe(['explain', 'second']));
  expect(JSON.parse(explain.stdout).state).toBe('fresh');
});
