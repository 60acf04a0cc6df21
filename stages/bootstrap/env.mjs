#!/usr/bin/env node
// @ts-check
/**
 * bootstrap:env:NAME: creates .venvs/NAME from config/envs/NAME.txt (python3 -m venv, pip install -r).
 * The requirements file is the stage's dep, so the engine reruns this only when it changes.
 * pip keeps its downloads in the application cache PIPE_CACHE_PIP (`cache: {apps: {pip: .cache/pip}}`), shared
 * by every environment and kept between runs; `pipe clean --caches pip` empties it.
 * Usage: env.mjs --name NAME --requirements config/envs/NAME.txt --out .venvs/NAME/pipe-env.json [--python python3]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, required, runMain, StageError, writeJson } from '../lib/cli.mjs';

/** @param {string} command @param {string[]} args */
function run(command, args) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error && /** @type {NodeJS.ErrnoException} */ (result.error).code === 'ENOENT') {
    throw new StageError(`'${command}' not found (install python3 and python3-venv)`);
  }
  if (result.status !== 0) throw new StageError(`${command} ${args.slice(0, 3).join(' ')} ... failed (exit ${result.status})`);
}

runMain('env', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['name', 'requirements', 'out', 'python']);
  const name = required(opts, 'name');
  const requirements = required(opts, 'requirements');
  const out = required(opts, 'out');
  if (!existsSync(requirements)) throw new StageError(`requirements file not found: ${requirements}`);
  const venv = dirname(out);
  run(opts.python ?? 'python3', ['-m', 'venv', '--clear', venv]);
  const pip = join(venv, 'bin', 'pip');
  const cacheDir = process.env.PIPE_CACHE_PIP;
  run(pip, ['install', '--disable-pip-version-check', '--no-input', ...(cacheDir ? ['--cache-dir', cacheDir] : []), '-r', requirements]);
  const freeze = spawnSync(pip, ['freeze', '--disable-pip-version-check'], { encoding: 'utf8' }).stdout ?? '';
  writeJson(out, {
    name,
    python: join(venv, 'bin', 'python'),
    requirements_sha256: createHash('sha256').update(readFileSync(requirements)).digest('hex'),
    installed: freeze.split('\n').filter(Boolean),
  });
});
