#!/usr/bin/env node
// @ts-check
// Profiles pipe's full run and no-op on a generated graph and prints where the time goes.
//
// Usage: node bench/profile.js [N=10000] [--top 25]
//        node bench/profile.js --summarize FILE.cpuprofile [--top 25]
//
// Runs `node --cpu-prof dist/cli/main.js -q run -j2` (full) then `... -q run` (no-op) in
// bench/work/profile-N, and sums self time per function and per module (package or dist
// file). Child processes (the stages) are not in the profile: only the engine's own time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from './generate.js';
import { REPO, snapshotPipe } from './peers.js';

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number }} CallFrame
 * @typedef {{ id: number, callFrame: CallFrame, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} Profile
 */

/** @param {string} url */
function moduleOf(url) {
  if (!url) return '(native/vm)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `npm:${pkg[1]}`;
  if (path.startsWith('node:')) return 'node internals';
  const engineFile = path.match(/\/(dist\/.*)$/);
  return engineFile ? engineFile[1] : relative(REPO, path);
}

/** @param {CallFrame} frame */
function functionLabel(frame) {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
}

/**
 * Self time in ms per key, largest first.
 * @param {Profile} profile
 * @param {(frame: CallFrame) => string} keyOf
 */
function selfTimes(profile, keyOf) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, number>} */
  const totals = new Map();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const key = keyOf(node.callFrame);
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/**
 * Inclusive time in ms of each engine function (under dist/), counted once per sample
 * even when it recurses, largest first.
 * @param {Profile} profile
 */
function engineTotals(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /** @type {Map<string, number>} */
  const totals = new Map();
  profile.samples.forEach((id, i) => {
    const labels = new Set();
    for (let at = /** @type {number | undefined} */ (id); at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame && moduleOf(frame.url).startsWith('dist/')) labels.add(functionLabel(frame));
    }
    for (const label of labels) totals.set(label, (totals.get(label) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/**
 * @param {Profile} profile
 * @param {number} top
 */
export function summarize(profile, top) {
  const wall = (profile.endTime - profile.startTime) / 1000;
  const rows = (/** @type {[string, number][]} */ entries) =>
    entries.slice(0, top).map(([key, ms]) => `  ${ms.toFixed(1).padStart(9)} ms ${((ms / wall) * 100).toFixed(1).padStart(5)}%  ${key}`);
  return [
    `profiled ${wall.toFixed(0)} ms`,
    'self time by module:',
    ...rows(selfTimes(profile, (f) => (f.url ? moduleOf(f.url) : f.functionName))),
    'self time by function:',
    ...rows(selfTimes(profile, functionLabel)),
    'total (inclusive) time of engine functions:',
    ...rows(engineTotals(profile)),
  ].join('\n');
}

/** @param {string} engine @param {string} cwd @param {string} dir @param {string[]} args */
function profiledRun(engine, cwd, dir, args) {
  rmSync(dir, { recursive: true, force: true });
  const start = performance.now();
  const result = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, engine, ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CI: '1' },
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`pipe ${args.join(' ')} exited ${result.status}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  return { seconds, profile: /** @type {Profile} */ (JSON.parse(readFileSync(join(dir, file), 'utf8'))) };
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { summarize: { type: 'string' }, top: { type: 'string', default: '25' } },
  });
  const top = Number(values.top);
  if (values.summarize) {
    console.log(summarize(JSON.parse(readFileSync(values.summarize, 'utf8')), top));
    return;
  }
  const size = Number(positionals[0] ?? 10000);
  const work = join(REPO, 'bench', 'work', `profile-${size}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const project = join(work, 'project');
  const engine = join(dirname(dirname(snapshotPipe(join(work, 'pipe')))), 'dist', 'cli', 'main.js');
  generate(size, project);
  for (const [label, args] of /** @type {const} */ ([['full', ['-q', 'run', '-j2']], ['no-op', ['-q', 'run']]])) {
    const { seconds, profile } = profiledRun(engine, project, join(work, label), [...args]);
    console.log(`\n== pipe ${args.join(' ')} (${label}, ${size} stages): ${seconds.toFixed(3)} s wall`);
    console.log(summarize(profile, top));
  }
  console.log(`\nprofiles kept in ${relative(REPO, work)}/{full,no-op}/`);
}

main();
