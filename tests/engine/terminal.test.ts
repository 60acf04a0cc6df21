/**
 * On a real terminal (a pty, where listr2 draws), Ctrl-C is pipe's: every stage process stops, nothing partial
 * is recorded, the exit code is 130 (listr2's own signal handler would exit 127).
 */
import { spawn, spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { PIPE_BIN, isAlive, projectsRemovedAfterAll, waitForFile } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const hasScript = spawnSync('script', ['--version']).status === 0;

test.skipIf(!hasScript)('Ctrl-C typed on a terminal stops the run with exit 130', async () => {
  const p = project(`version: 1
stages:
  slow:
    cmd: [sh, -c, "echo $$ > slow.pid; sleep 30; echo done > slow.txt"]
    outs: [slow.txt]
`);
  // `script` gives pipe a pty; what we write to its stdin is typed on that terminal
  const term = spawn('script', ['-qec', `node ${PIPE_BIN} run`, '/dev/null'], { cwd: p.dir, env: { ...process.env, CI: '', TERM: 'xterm' } });
  let screen = '';
  term.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const exited = new Promise<number | null>((resolve) => term.on('close', (code) => resolve(code)));
  await waitForFile(p.path('slow.pid'));
  const stagePid = Number(p.read('slow.pid'));
  term.stdin.write('\x03');
  const code = await exited;
  expect(code, screen).toBe(130);
  expect(screen).toMatch(/interrupted/);
  expect(isAlive(stagePid)).toBe(false);
  expect(p.exists('slow.txt')).toBe(false);
}, 30_000);

/** Runs `pipe ARGS` on a pty (`script`, which reports 0 columns and 0 rows), returning the screen. */
function onTerminal(dir: string, args: string, onScreen?: (screen: string) => void): Promise<{ code: number | null; screen: string }> {
  const term = spawn('script', ['-qec', `node ${PIPE_BIN} ${args}`, '/dev/null'], { cwd: dir, env: { ...process.env, CI: '', TERM: 'xterm' } });
  let screen = '';
  term.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    onScreen?.(screen);
  });
  return new Promise((resolve) => term.on('close', (code) => resolve({ code, screen })));
}

test.skipIf(!hasScript)('a terminal that reports 0 columns gets whole lines, not one character per line', async () => {
  const p = project(`version: 1
stages:
  a-stage-with-a-long-name:
    cmd: echo > a.txt
    outs: [a.txt]
`);
  const { code, screen } = await onTerminal(p.dir, 'run');
  expect(code, screen).toBe(0);
  expect(screen).toContain('a-stage-with-a-long-name');
}, 30_000);

test.skipIf(!hasScript)('the terminal view shows the live output of a running stage under its spinner', async () => {
  const p = project(`version: 1
stages:
  slow:
    cmd: echo downloading-part-1; while [ ! -f go ]; do sleep 0.05; done; echo done > slow.txt
    outs: [slow.txt]
`);
  let seen = false;
  const run = onTerminal(p.dir, 'run', (screen) => {
    if (!seen && screen.includes('downloading-part-1')) {
      seen = true;
      p.write('go', ''); // the stage ends only once its output was on the screen
    }
  });
  const deadline = setTimeout(() => p.write('go', ''), 10_000);
  const { code, screen } = await run;
  clearTimeout(deadline);
  expect(code, screen).toBe(0);
  expect(seen).toBe(true);
}, 30_000);
