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
