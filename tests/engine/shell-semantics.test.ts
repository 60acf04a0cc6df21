/** A string command behaves as under `sh -c`, whichever way pipe starts it: `$$` is the command's own shell. */
import { expect, test } from 'vitest';
import { expectExit, projectsRemovedAfterAll, stageEvents } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

test('`$$` is the stage shell itself: killing it fails that stage only', async () => {
  const p = project(`version: 1
stages:
  suicide:
    cmd: "kill -TERM $$; echo never > never.txt"
    outs: [never.txt]
  after:
    cmd: "echo fine > fine.txt"
    outs: [fine.txt]
`);
  const r = expectExit(await p.run('-k', '-j', '1'), 1);
  expect(stageEvents(r).suicide?.reason).toMatch(/killed by SIGTERM/);
  expect(stageEvents(r).after?.status).toBe('ran');
  expect(p.read('fine.txt')).toBe('fine\n');
});
