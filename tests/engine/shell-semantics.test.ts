/** A string command behaves as under `sh -c`, whichever way pipe starts it: `$$` is the command's own shell. */
import { realpathSync } from 'node:fs';
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

test.each(['shell workers', 'spawn'])('an argv command is a program, never a builtin of the shell that starts it (%s)', async (strategy) => {
  // `[cd, /]` run by a worker's own shell moved the worker, and the next stage wrote /where.txt
  const p = project(`version: 1
stages:
  moves:
    cmd: [cd, /]
  exports:
    cmd: [export, SNEAKY=1]
  masks:
    cmd: [umask, "077"]
  traps:
    cmd: [trap, "", TERM]
  after:
    cmd: pwd > where.txt; echo "sneaky=$SNEAKY" >> where.txt; touch made.txt; stat -c %a made.txt > mode.txt; trap > traps.txt
    outs: [where.txt, made.txt, mode.txt, traps.txt]
  external:
    cmd: [echo, -n, x]
`);
  const env: Record<string, string> = strategy === 'spawn' ? { PIPE_LOCAL_STRATEGY: 'spawn' } : {};
  const r = expectExit(await p.pipe(['run', '-k', '-j', '1'], { env }), 1);
  expect(stageEvents(r).moves?.reason).toMatch(/'cd' was not found/);
  expect(stageEvents(r).exports?.reason).toMatch(/'export' was not found/);
  expect(p.read('where.txt')).toBe(`${realpathSync(p.path('.'))}\nsneaky=\n`);
  // nor the mode of what later stages create, nor the signals they ignore (a stage ignoring TERM outlives its stop)
  expect(p.read('mode.txt')).toBe(`${(0o666 & ~process.umask()).toString(8)}\n`);
  expect(p.read('traps.txt')).toBe('');
  expect(stageEvents(r).external?.status).toBe('ran');
  expect(p.read('.pipe/logs/external.log')).toBe('x'); // /bin/echo, which knows -n, as a spawn runs it
});
