#!/usr/bin/env node
// @ts-check
// Benchmarks pipe against ninja, make and snakemake on generated layered `cat` graphs.
//
// Usage: node bench/run.js [--sizes 1000,5000,10000] [--peers ninja,make,make-r,snakemake]
//          [--no-pipe] [--no-full] [--noop-runs 5] [--snakemake-max 1000] [--layers 10]
//          [--keep] [--no-write] [--load-sizes 10000,20000,50000,100000] [--load-runs 3] [--no-load]
//
// Per size and tool: a fresh copy of the generated folder, a timed full build at -j2, then
// the median of --noop-runs no-op builds. Outputs are compared byte for byte with ninja's,
// and a no-op that rewrote any output is flagged. pipe runs from a copy of bin/ and dist/
// taken at the start (bench/work/pipe-snapshot): a concurrent `npm run build` by someone else
// cannot swap the engine between its full build and its no-op. The tables go to stdout and, unless
// --no-write, to bench/RESULTS.md with the command and the date. Then, per --load-sizes, how long pipe
// takes to load, dry-run and recompile the pipeline against `ninja -n` (bench/load.js), and every target
// of the issues with met / not met.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generate, DEFAULT_LAYERS } from './generate.js';
import { tools, snapshotPipe, REPO, PIPE_ENGINE } from './peers.js';
import { outputsDigest, outputMtimes, sameMtimes } from './outputs.js';
import { printTables, writeResults } from './results.js';
import { measureLoad } from './load.js';

const WORK = join(REPO, 'bench', 'work');

/**
 * @typedef {import('./peers.js').Tool} Tool
 * @typedef {import('./peers.js').Invocation} Invocation
 * @typedef {import('./results.js').Measurement} Measurement
 */

function options() {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000,5000,10000' },
      peers: { type: 'string', default: 'ninja,make,make-r,snakemake' },
      'no-pipe': { type: 'boolean', default: false },
      'no-full': { type: 'boolean', default: false },
      'noop-runs': { type: 'string', default: '5' },
      'snakemake-max': { type: 'string', default: '1000' },
      layers: { type: 'string', default: String(DEFAULT_LAYERS) },
      keep: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      'load-sizes': { type: 'string', default: '10000,20000,50000,100000' },
      'load-runs': { type: 'string', default: '3' },
      'no-load': { type: 'boolean', default: false },
    },
  });
  return {
    sizes: values.sizes.split(',').map(Number),
    peers: values.peers.split(',').filter(Boolean),
    withPipe: !values['no-pipe'],
    timeFull: !values['no-full'],
    noopRuns: Number(values['noop-runs']),
    snakemakeMax: Number(values['snakemake-max']),
    layers: Number(values.layers),
    keep: values.keep,
    write: !values['no-write'],
    loadSizes: values['no-load'] ? [] : values['load-sizes'].split(',').filter(Boolean).map(Number),
    loadRuns: Number(values['load-runs']),
  };
}

/**
 * Runs one build; returns seconds, or throws with the tail of its stderr.
 * @param {Invocation} invocation
 * @param {string} cwd
 */
function timed(invocation, cwd) {
  const start = performance.now();
  const result = spawnSync(invocation.command, invocation.args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CI: '1' },
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) {
    const tail = String(result.stderr ?? result.error ?? '').trim().split('\n').slice(-8).join('\n');
    throw new Error(`exit ${result.status ?? result.signal}: ${tail}`);
  }
  return seconds;
}

/** The commit the benchmarked dist/ was most likely built from (dist/ is not versioned). */
function headCommit() {
  const result = spawnSync('git', ['log', '-1', '--format=%h %cd', '--date=format:%Y-%m-%d %H:%M'], { cwd: REPO, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * @param {Tool} tool
 * @param {number} size
 * @param {string} generated
 * @param {ReturnType<typeof options>} opts
 * @returns {Measurement}
 */
function measure(tool, size, generated, opts) {
  const dir = join(WORK, `${size}-${tool.name}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(generated, dir, { recursive: true });
  /** @type {Measurement} */
  const m = { size, tool: tool.name, full: null, noop: null, noopRuns: [], digest: null, noopRewrote: false, error: null };
  try {
    // the generated tree and its copy written back first, so no tool's build pays for the one before it
    spawnSync('sync');
    const fullSeconds = timed(tool.full, dir);
    if (opts.timeFull) m.full = fullSeconds;
    m.digest = outputsDigest(join(dir, 'out'));
    const before = outputMtimes(join(dir, 'out'));
    for (let i = 0; i < opts.noopRuns; i++) m.noopRuns.push(timed(tool.noop, dir));
    m.noop = median(m.noopRuns);
    m.noopRewrote = !sameMtimes(before, outputMtimes(join(dir, 'out')));
  } catch (error) {
    m.error = error instanceof Error ? error.message : String(error);
  }
  leftBehind.push(dir);
  return m;
}

/**
 * Folders to delete when the run is over, not between measurements: on an ext4 without a journal (this
 * machine's) the inodes of a deleted tree are skipped by every file created in the next 30-60 s, so deleting
 * one tool's 20,000 files made the next tool's run pay for it (up to 4 s of system time in 3,000 stages).
 */
const leftBehind = [];

/** @param {Measurement} m */
function progressLine(m) {
  if (m.error) return `  ${m.tool}: FAILED ${m.error}`;
  const full = m.full === null ? '' : `full ${m.full.toFixed(3)} s, `;
  const runs = m.noopRuns.map((s) => s.toFixed(3)).join(' ');
  return `  ${m.tool}: ${full}no-op median ${m.noop?.toFixed(3)} s (${runs})${m.noopRewrote ? ' REWROTE OUTPUTS' : ''}`;
}

/** @param {ReturnType<typeof options>} opts */
function selectedTools(opts) {
  const pipeBin = opts.withPipe && existsSync(PIPE_ENGINE) ? snapshotPipe(join(WORK, 'pipe-snapshot')) : undefined;
  const all = tools({ snakemakeMax: opts.snakemakeMax, pipeBin });
  const names = opts.withPipe ? ['pipe', ...opts.peers] : opts.peers;
  /** @type {Tool[]} */
  const chosen = [];
  for (const name of names) {
    const tool = all[name];
    if (!tool) throw new Error(`unknown tool ${name} (known: ${Object.keys(all).join(', ')})`);
    if (tool.available()) chosen.push(tool);
    else console.error(name === 'pipe' ? `skipping pipe: ${PIPE_ENGINE} not built (npm run build)` : `skipping ${name}: not installed`);
  }
  return chosen;
}

function main() {
  const opts = options();
  const started = new Date();
  const loadBefore = loadavg()[0];
  const commit = headCommit();
  const chosen = selectedTools(opts);
  mkdirSync(WORK, { recursive: true });
  /** @type {Measurement[]} */
  const measurements = [];
  /** the machine's load average after each measurement: others share it */
  const loadSeen = [];
  for (const size of opts.sizes) {
    const generated = join(WORK, `gen-${size}`);
    rmSync(generated, { recursive: true, force: true });
    const graph = generate(size, generated, { layers: opts.layers });
    console.log(`${size} stages (${graph.layers} layers of width ${graph.width}):`);
    for (const tool of chosen) {
      if (size > tool.maxStages) {
        console.log(`  ${tool.name}: skipped above ${tool.maxStages} stages`);
        continue;
      }
      const m = measure(tool, size, generated, opts);
      loadSeen.push(loadavg()[0]);
      console.log(`${progressLine(m)} (load ${loadSeen[loadSeen.length - 1].toFixed(1)})`);
      measurements.push(m);
    }
    leftBehind.push(generated);
  }
  const pipe = chosen.find((t) => t.name === 'pipe');
  /** @type {import('./load.js').LoadMeasurement[]} */
  const loads = [];
  for (const size of pipe && chosen.some((t) => t.name === 'ninja') ? opts.loadSizes : []) {
    const generated = join(WORK, `gen-${size}`);
    rmSync(generated, { recursive: true, force: true });
    generate(size, generated, { layers: opts.layers });
    const m = measureLoad(size, generated, pipe.full.args[0], opts.loadRuns);
    console.log(`load ${size}: ninja -n ${m.ninja.seconds.toFixed(2)} s, first load ${m.firstLoad.seconds.toFixed(2)} s ${Math.round(m.firstLoad.rssMb ?? 0)} MB, ` +
      `dry run ${m.dryRun.seconds.toFixed(2)} s ${Math.round(m.dryRun.rssMb ?? 0)} MB, list ${m.listCompiled.seconds.toFixed(2)} s, after an edit ${m.listAfterEdit.seconds.toFixed(2)} s, foreach ${m.foreach.seconds.toFixed(2)} s`);
    loads.push(m);
    loadSeen.push(loadavg()[0]);
    rmSync(generated, { recursive: true, force: true });
  }
  const command = ['node', 'bench/run.js', ...process.argv.slice(2)].join(' ');
  const context = { command, date: started, loadBefore, loadAfter: loadavg()[0], noopRuns: opts.noopRuns, layers: opts.layers, commit, loadRuns: opts.loadRuns, loadSeen };
  if (!opts.keep) for (const dir of leftBehind) rmSync(dir, { recursive: true, force: true });
  const markdown = printTables(measurements, context, loads);
  console.log('\n' + markdown);
  if (opts.write) writeResults(markdown, context);
  const failed = measurements.some((m) => m.error || m.noopRewrote);
  process.exitCode = failed ? 1 : 0;
}

main();
