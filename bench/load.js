// @ts-check
// How long pipe takes to load large pipelines, and how much memory, against `ninja -n` on the same graph.
//
// Per size, each on a fresh copy of the generated folder (medians of --load-runs; peak RSS from /usr/bin/time):
// - ninja -n: ninja parses build.ninja, stats every file and prints what it would run;
// - first load: `pipe validate` (parse, schema, interpolation, graph; never from .pipe/compiled);
// - dry run of the compiled pipeline: `pipe run -n` once .pipe/compiled holds it;
// - recompile after editing one stage: `pipe list` after changing one stage's command, minus `pipe list`
//   from the compiled pipeline (the part that is the compile);
// - a foreach of N items: `pipe validate` of one template over a list var of N items.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TIME = '/usr/bin/time';

/**
 * @typedef {{ seconds: number, rssMb: number | null }} Sample
 * @typedef {{ size: number, ninja: Sample, firstLoad: Sample, dryRun: Sample, listCompiled: Sample,
 *   listAfterEdit: Sample, foreach: Sample }} LoadMeasurement
 */

/**
 * One run of a command: wall seconds and peak RSS (MB, when /usr/bin/time exists).
 * @param {string} command @param {string[]} args @param {string} cwd
 * @returns {Sample}
 */
function sample(command, args, cwd) {
  const withTime = existsSync(TIME);
  const out = join(cwd, '.time-output');
  const [cmd, argv] = withTime ? [TIME, ['-f', '%M', '-o', out, command, ...args]] : [command, args];
  const start = performance.now();
  const result = spawnSync(cmd, argv, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${result.status}: ${String(result.stderr).trim().split('\n').slice(-4).join('\n')}`);
  const rssMb = withTime ? Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024 : null;
  rmSync(out, { force: true });
  return { seconds, rssMb };
}

/**
 * The median run of `runs` (by time; its RSS is the largest seen).
 * @param {number} runs @param {() => Sample} once
 */
function medianOf(runs, once) {
  const samples = Array.from({ length: runs }, once).sort((a, b) => a.seconds - b.seconds);
  const rss = samples.map((s) => s.rssMb).filter((r) => r !== null);
  return { seconds: samples[Math.floor(samples.length / 2)].seconds, rssMb: rss.length ? Math.max(...rss) : null };
}

/** @param {number} items */
function foreachYaml(items) {
  const list = Array.from({ length: items }, (_, i) => `    - item${i}`);
  return ['version: 1', 'vars:', '  items:', ...list, 'stages:', '  each:', '    foreach: items',
    '    cmd: echo ${item} > out/${job}.txt', '    outs: ["out/${job}.txt"]', ''].join('\n');
}

/**
 * @param {number} size
 * @param {string} generated the folder bench/generate.js wrote
 * @param {string} pipeBin
 * @param {number} runs
 * @returns {LoadMeasurement}
 */
export function measureLoad(size, generated, pipeBin, runs) {
  const dir = mkdtempSync(join(tmpdir(), `pipe-load-${size}-`));
  try {
    cpSync(generated, dir, { recursive: true });
    const node = process.execPath;
    const ninja = medianOf(runs, () => sample('ninja', ['-n'], dir));
    const firstLoad = medianOf(runs, () => sample(node, [pipeBin, '-q', 'validate'], dir));
    sample(node, [pipeBin, '-q', 'run', '-n'], dir); // compiles into .pipe/compiled
    const dryRun = medianOf(runs, () => sample(node, [pipeBin, '-q', 'run', '-n'], dir));
    const listCompiled = medianOf(runs, () => sample(node, [pipeBin, '-q', 'list'], dir));
    const file = join(dir, 'pipeline.yaml');
    const original = readFileSync(file, 'utf8');
    let edit = 0;
    const listAfterEdit = medianOf(runs, () => {
      // a different edit each time, so each run compiles
      writeFileSync(file, original.replace('    cmd: cat ', `    cmd: cat src/${++edit}.txt `));
      return sample(node, [pipeBin, '-q', 'list'], dir);
    });
    writeFileSync(file, foreachYaml(size));
    const foreach = medianOf(runs, () => sample(node, [pipeBin, '-q', 'validate'], dir));
    return { size, ninja, firstLoad, dryRun, listCompiled, listAfterEdit, foreach };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @param {Sample} s */
const cell = (s) => `${s.seconds.toFixed(2)} s${s.rssMb === null ? '' : `, ${Math.round(s.rssMb)} MB`}`;
/** @param {number} a @param {number} b */
const times = (a, b) => `${(a / b).toFixed(2)}×`;
/** @param {boolean} ok */
const mark = (ok) => (ok ? 'met' : 'NOT met');

/** @param {LoadMeasurement[]} ms */
export function loadTables(ms) {
  const header = '| stages | ninja -n | first load | ×ninja -n | dry run (compiled) | ×ninja -n | recompile after one edit | foreach of N items | first load µs/stage | KB/stage |';
  const rows = ms.map((m) => {
    const recompile = m.listAfterEdit.seconds - m.listCompiled.seconds;
    return `| ${m.size} | ${cell(m.ninja)} | ${cell(m.firstLoad)} | ${times(m.firstLoad.seconds, m.ninja.seconds)} | ${cell(m.dryRun)} | ` +
      `${times(m.dryRun.seconds, m.ninja.seconds)} | ${recompile.toFixed(2)} s (list ${m.listAfterEdit.seconds.toFixed(2)} s − ${m.listCompiled.seconds.toFixed(2)} s) | ` +
      `${cell(m.foreach)} | ${Math.round((m.firstLoad.seconds / m.size) * 1e6)} | ${m.firstLoad.rssMb === null ? '—' : ((m.firstLoad.rssMb * 1024) / m.size).toFixed(1)} |`;
  });
  return [header, `|${' --- |'.repeat(10)}`, ...rows].join('\n');
}

/** The issue's load targets, at the largest size, and how per-stage cost grows across the sizes. @param {LoadMeasurement[]} ms */
export function loadTargets(ms) {
  if (!ms.length) return [];
  const big = ms.reduce((a, b) => (b.size > a.size ? b : a));
  const small = ms.reduce((a, b) => (b.size < a.size ? b : a));
  const n = big.size;
  const recompile = big.listAfterEdit.seconds - big.listCompiled.seconds;
  const rss = (/** @type {Sample} */ s, /** @type {number} */ mb) => (s.rssMb === null ? 'RSS not measured' : `${Math.round(s.rssMb)} MB under ${mb} MB, ${mark(s.rssMb < mb)}`);
  const lines = [
    `Load targets at ${n} stages:`,
    `- first load within 3× ninja -n: ${times(big.firstLoad.seconds, big.ninja.seconds)}, ${mark(big.firstLoad.seconds <= 3 * big.ninja.seconds)}; ${rss(big.firstLoad, 600)}`,
    `- foreach of ${n} items under 3 s: ${big.foreach.seconds.toFixed(2)} s, ${mark(big.foreach.seconds < 3)}`,
    `- recompile after editing one stage under 1 s: ${recompile.toFixed(2)} s, ${mark(recompile < 1)}`,
    `- dry run of the compiled pipeline within 1.5× ninja -n: ${times(big.dryRun.seconds, big.ninja.seconds)}, ${mark(big.dryRun.seconds <= 1.5 * big.ninja.seconds)}; ${rss(big.dryRun, 400)}`,
  ];
  if (big !== small) {
    // flat: the cost per stage at the largest size is at most 1.5× that at the smallest (n log n from 10,000
    // to 100,000 stages is 1.25×; the rest is room for a shared machine's noise)
    for (const [label, of] of /** @type {const} */ ([['first load', 'firstLoad'], ['dry run', 'dryRun']])) {
      const time = big[of].seconds / n / (small[of].seconds / small.size);
      lines.push(`- ${label}: time per stage flat from ${small.size} to ${n} stages (at most 1.5×): ${time.toFixed(2)}×, ${mark(time <= 1.5)}`);
      const [bigMb, smallMb] = [big[of].rssMb, small[of].rssMb];
      if (bigMb === null || smallMb === null) continue;
      // memory per stage net of what node takes before any stage (about 50 MB), which would make small sizes look expensive
      const base = 50;
      const mem = Math.max(0, bigMb - base) / n / (Math.max(1, smallMb - base) / small.size);
      lines.push(`- ${label}: peak memory per stage flat (above node's ${base} MB, at most 1.5×): ${mem.toFixed(2)}×, ${mark(mem <= 1.5)}`);
    }
  }
  return lines;
}
