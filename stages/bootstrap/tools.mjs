#!/usr/bin/env node
// @ts-check
/**
 * bootstrap:tools: checks the Debian tools the offline profile needs, installs the missing ones
 * with apt-get when it can (root and apt-get present), else prints the exact command and exits 1.
 * Usage: tools.mjs --out FILE [--profile offline|cuda|mlx|cpu] [--need media,asr,mt,pair] [--source en --target es]
 *   media: ffmpeg/ffprobe; asr: pocketsphinx_continuous and the en-us model; mt: apertium;
 *   pair: the apertium pair for --source/--target. --profile picks the set (offline: media,asr,mt; else media).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pairName } from '../lib/apertium.mjs';
import { parseArgs, required, runMain, StageError, writeJson } from '../lib/cli.mjs';

const EN_US_MODEL = '/usr/share/pocketsphinx/model/en-us/en-us';

/** @typedef {{ name: string, package: string, present: () => boolean }} Check */

/** @param {string} command */
function onPath(command) {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/** @param {string} pair */
function hasApertiumPair(pair) {
  try {
    return execFileSync('apertium', ['-l'], { encoding: 'utf8' }).split('\n').some((l) => l.trim() === pair);
  } catch {
    return false;
  }
}

/** @param {string[]} needs @param {string | undefined} pair @returns {Check[]} */
export function checksFor(needs, pair) {
  /** @type {Check[]} */
  const checks = [];
  if (needs.includes('media')) {
    checks.push({ name: 'ffmpeg', package: 'ffmpeg', present: () => onPath('ffmpeg') && onPath('ffprobe') });
  }
  if (needs.includes('asr')) {
    checks.push({ name: 'pocketsphinx_continuous', package: 'pocketsphinx', present: () => onPath('pocketsphinx_continuous') });
    checks.push({ name: 'pocketsphinx en-us model', package: 'pocketsphinx-en-us', present: () => existsSync(EN_US_MODEL) });
  }
  if (needs.includes('mt')) {
    checks.push({ name: 'apertium', package: 'apertium', present: () => onPath('apertium') });
  }
  if (needs.includes('pair')) {
    if (!pair) throw new StageError('--need pair needs --source and --target');
    checks.push({ name: 'apertium', package: 'apertium', present: () => onPath('apertium') });
    const pkg = debianPairPackage(pair);
    if (!pkg && !hasApertiumPair(pair)) {
      throw new StageError(`no Debian package provides the apertium pair ${pair} (apt-cache search apertium lists the available pairs)`);
    }
    checks.push({ name: `apertium pair ${pair}`, package: pkg ?? `apertium-${pair}`, present: () => hasApertiumPair(pair) });
  }
  return checks;
}

/**
 * Debian ships both directions in one package named after either order (apertium-eng-spa has spa-eng).
 * @param {string} pair @returns {string | null} null when apt knows neither name
 */
function debianPairPackage(pair) {
  const [a, b] = pair.split('-');
  for (const name of [`apertium-${a}-${b}`, `apertium-${b}-${a}`]) {
    if (spawnSync('apt-cache', ['show', name], { stdio: 'ignore' }).status === 0) return name;
  }
  return null;
}

/** @param {string | undefined} profile @param {string | undefined} need */
export function needsFor(profile, need) {
  if (need) return need.split(',').map((s) => s.trim());
  return !profile || profile === 'offline' ? ['media', 'asr', 'mt'] : ['media'];
}

function canInstall() {
  return typeof process.getuid === 'function' && process.getuid() === 0 && onPath('apt-get');
}

/** @param {string[]} packages */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  return update.status === 0 && install.status === 0;
}

/** @param {string} command */
function version(command) {
  try {
    if (command === 'ffmpeg') return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0];
    if (command === 'apertium') return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'apertium'], { encoding: 'utf8' });
    if (command === 'pocketsphinx') return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'pocketsphinx'], { encoding: 'utf8' });
  } catch {
    /* version is informative only */
  }
  return 'unknown';
}

runMain('tools', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['out', 'need', 'profile', 'source', 'target']);
  const out = required(opts, 'out');
  const needs = needsFor(opts.profile, opts.need);
  const pair = opts.source && opts.target ? pairName(opts.source, opts.target) : undefined;
  const checks = checksFor(needs, pair);
  let missing = checks.filter((c) => !c.present());
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((c) => c.package))];
    const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
    if (!canInstall()) {
      throw new StageError(`missing ${missing.map((c) => c.name).join(', ')}; install with: sudo ${command}`);
    }
    process.stderr.write(`tools: installing ${packages.join(' ')}\n`);
    aptInstall(packages);
    missing = checks.filter((c) => !c.present());
    if (missing.length > 0) {
      throw new StageError(`still missing after apt-get: ${missing.map((c) => c.name).join(', ')}; run: ${command}`);
    }
  }
  /** @type {Record<string, string>} */
  const versions = {};
  if (needs.includes('media')) versions.ffmpeg = version('ffmpeg');
  if (needs.includes('asr')) versions.pocketsphinx = version('pocketsphinx');
  if (needs.includes('mt') || needs.includes('pair')) versions.apertium = version('apertium');
  writeJson(out, { checked: [...new Set(checks.map((c) => c.name))], ...(pair ? { pair } : {}), versions });
});
