// @ts-check
// The tools under benchmark: how each runs a full build at -j2 and a no-op build.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const PIPE_BIN = join(REPO, 'bin', 'pipe.js');
export const PIPE_ENGINE = join(REPO, 'dist', 'cli', 'main.js');

/**
 * @typedef {{ command: string, args: string[] }} Invocation
 * @typedef {{ name: string, full: Invocation, noop: Invocation, maxStages: number, available: () => boolean }} Tool
 */

/** @param {string} command @param {string[]} args @returns {Invocation} */
const run = (command, args) => ({ command, args });

/** @param {string} command */
function runs(command) {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Copies bin/, dist/ and package.json into dir, so a rebuild of dist/ by someone else during a long
 * run cannot swap the engine between the full build and the no-op. Imports of npm packages still
 * resolve to the repository's node_modules (dir must be inside the repository).
 * @param {string} dir
 * @returns {string} the snapshot's bin/pipe.js
 */
export function snapshotPipe(dir) {
  rmSync(dir, { recursive: true, force: true });
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  return join(dir, 'bin', 'pipe.js');
}

/**
 * @param {{ snakemakeMax: number, pipeBin?: string }} options
 * @returns {Record<string, Tool>}
 */
export function tools(options) {
  const pipeBin = options.pipeBin ?? PIPE_BIN;
  return {
    pipe: {
      name: 'pipe',
      full: run(process.execPath, [pipeBin, '-q', 'run', '-j2']),
      noop: run(process.execPath, [pipeBin, '-q', 'run']),
      maxStages: Infinity,
      available: () => existsSync(PIPE_ENGINE),
    },
    ninja: {
      name: 'ninja',
      full: run('ninja', ['-j2']),
      noop: run('ninja', []),
      maxStages: Infinity,
      available: () => runs('ninja'),
    },
    make: {
      name: 'make',
      full: run('make', ['-j2']),
      noop: run('make', []),
      maxStages: Infinity,
      available: () => runs('make'),
    },
    'make-r': {
      name: 'make-r',
      full: run('make', ['-r', '-j2']),
      noop: run('make', ['-r']),
      maxStages: Infinity,
      available: () => runs('make'),
    },
    snakemake: {
      name: 'snakemake',
      full: run('snakemake', ['--cores', '2', '-q']),
      noop: run('snakemake', ['--cores', '2', '-q']),
      maxStages: options.snakemakeMax,
      available: () => runs('snakemake'),
    },
  };
}

/** @param {Invocation} invocation */
export const describe = (invocation) =>
  [invocation.command === process.execPath ? 'node' : invocation.command, ...invocation.args]
    .map((part) => part.replace(REPO + '/', ''))
    .join(' ');
