// @ts-check
// The tools under benchmark: how each runs a full build at -j2 and a no-op build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
 * @param {{ snakemakeMax: number }} limits
 * @returns {Record<string, Tool>}
 */
export function tools(limits) {
  return {
    pipe: {
      name: 'pipe',
      full: run(process.execPath, [PIPE_BIN, '-q', 'run', '-j2']),
      noop: run(process.execPath, [PIPE_BIN, '-q', 'run']),
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
      maxStages: limits.snakemakeMax,
      available: () => runs('snakemake'),
    },
  };
}

/** @param {Invocation} invocation */
export const describe = (invocation) =>
  [invocation.command === process.execPath ? 'node' : invocation.command, ...invocation.args]
    .map((part) => part.replace(REPO + '/', ''))
    .join(' ');
