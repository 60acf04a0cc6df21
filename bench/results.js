// @ts-check
// Turns measurements into Markdown tables and records them in bench/RESULTS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './peers.js';
import { loadTables, loadTargets } from './load.js';

const RESULTS = join(REPO, 'bench', 'RESULTS.md');
const RUNS_MARKER = '<!-- runs: newest first; bench/run.js inserts below -->';

/**
 * @typedef {{ size: number, tool: string, full: number | null, noop: number | null, noopRuns: number[],
 *   digest: string | null, noopRewrote: boolean, error: string | null }} Measurement
 * @typedef {{ command: string, date: Date, loadBefore: number, loadAfter: number, noopRuns: number,
 *   layers: number, commit: string, loadRuns?: number, loadSeen?: number[] }} Context
 */

/** @param {number | null | undefined} s */
const seconds = (s) => (s === null || s === undefined ? '—' : s.toFixed(3));

/** @param {number | null | undefined} a @param {number | null | undefined} b */
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '—');

/** @param {string[]} header @param {string[][]} rows */
function table(header, rows) {
  const line = (/** @type {string[]} */ cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** @param {Measurement[]} ms @param {number} size @param {string} tool */
const find = (ms, size, tool) => ms.find((m) => m.size === size && m.tool === tool && !m.error);

/** @param {Measurement} m @param {Measurement | undefined} ninja */
function outputsCell(m, ninja) {
  if (m.error) return `FAILED: ${m.error.split('\n')[0]}`;
  const same = !ninja || m.tool === 'ninja' ? '' : m.digest === ninja.digest ? 'same bytes as ninja' : 'DIFFER from ninja';
  return [same, m.noopRewrote ? 'no-op REWROTE outputs' : ''].filter(Boolean).join('; ') || '—';
}

/** @param {Measurement[]} ms */
function timesTable(ms) {
  const rows = ms.map((m) => {
    const ninja = find(ms, m.size, 'ninja');
    return [String(m.size), m.tool, seconds(m.full), ratio(m.full, ninja?.full), seconds(m.noop), ratio(m.noop, ninja?.noop), outputsCell(m, ninja)];
  });
  return table(['stages', 'tool', 'full -j2 (s)', 'full ×ninja', 'no-op (s)', 'no-op ×ninja', 'outputs'], rows);
}

/** @param {Measurement[]} ms */
function pipeRatiosTable(ms) {
  const peers = ['ninja', 'make', 'make-r', 'snakemake'].filter((p) => ms.some((m) => m.tool === p));
  const sizes = [...new Set(ms.map((m) => m.size))];
  const header = ['stages', ...peers.flatMap((p) => [`pipe/${p} full`, `pipe/${p} no-op`])];
  const rows = sizes.map((size) => {
    const pipe = find(ms, size, 'pipe');
    return [String(size), ...peers.flatMap((p) => [ratio(pipe?.full, find(ms, size, p)?.full), ratio(pipe?.noop, find(ms, size, p)?.noop)])];
  });
  return table(header, rows);
}

/** The run targets (issue 15), at each of 5,000 and 10,000 stages that was measured. @param {Measurement[]} ms */
function targets(ms) {
  const mark = (/** @type {boolean} */ ok) => (ok ? 'met' : 'NOT met');
  const lines = [];
  for (const size of [5000, 10000]) {
    const [pipe, ninja, make] = ['pipe', 'ninja', 'make'].map((t) => find(ms, size, t));
    if (!pipe || !ninja || pipe.noop === null || ninja.noop === null) continue;
    lines.push(`Targets at ${size} stages:`);
    if (pipe.full !== null && ninja.full !== null)
      lines.push(`- full run within 1.3× ninja: ${ratio(pipe.full, ninja.full)}, ${mark(pipe.full <= 1.3 * ninja.full)}`);
    lines.push(`- no-op within 2× ninja: ${ratio(pipe.noop, ninja.noop)}, ${mark(pipe.noop <= 2 * ninja.noop)}`);
    if (make?.noop !== null && make?.noop !== undefined)
      lines.push(`- no-op below make: ${pipe.noop.toFixed(3)} s vs ${make.noop.toFixed(3)} s, ${mark(pipe.noop < make.noop)}`);
  }
  const pipes = ms.filter((m) => m.tool === 'pipe' && !m.error && m.full !== null);
  if (pipes.length > 1) {
    const [small, big] = [pipes[0], pipes[pipes.length - 1]].sort((a, b) => a.size - b.size);
    const ninjaOf = (/** @type {Measurement} */ m) => find(ms, m.size, 'ninja')?.full;
    const [smallNinja, bigNinja] = [ninjaOf(small), ninjaOf(big)];
    // the stages' own processes grow the run linearly for every tool: pipe's part is what grows beyond ninja's
    if (smallNinja && bigNinja && small.full && big.full) {
      const growth = big.full / bigNinja / (small.full / smallNinja);
      lines.push(`Growth of the full run from ${small.size} to ${big.size} stages:`);
      lines.push(`- pipe/ninja ratio flat (at most 1.5× the ratio at ${small.size}): ${growth.toFixed(2)}×, ${mark(growth <= 1.5)}`);
    }
  }
  return lines.join('\n');
}

/** Every target line of the run (the lines that end in met / NOT met), and how many were met. @param {string[]} lines */
function targetSummary(lines) {
  const verdicts = lines.filter((l) => l.startsWith('- ')).flatMap((l) => [...l.matchAll(/(NOT met|met)(?=;|$)/g)].map((m) => m[1]));
  const met = verdicts.filter((v) => v === 'met').length;
  return `${met} of ${verdicts.length} targets met in this run.`;
}

/**
 * @param {Measurement[]} ms
 * @param {Context} context
 * @param {import('./load.js').LoadMeasurement[]} [loads]
 */
export function printTables(ms, context, loads = []) {
  const parts = [
    `## ${context.date.toISOString()}`,
    '',
    `Command: \`${context.command}\` (from the repository root), repository at ${context.commit}`,
    '',
    `Graph: ${context.layers} layers, each stage \`cat\`s two outputs of the layer before. ` +
      `No-op = median of ${context.noopRuns} runs. Load average (1 min) ${context.loadBefore.toFixed(2)} before, ${context.loadAfter.toFixed(2)} after` +
      (context.loadSeen?.length ? `, ${Math.min(...context.loadSeen).toFixed(1)} to ${Math.max(...context.loadSeen).toFixed(1)} between measurements.` : '.'),
    '',
    timesTable(ms),
  ];
  if (ms.some((m) => m.tool === 'pipe')) parts.push('', pipeRatiosTable(ms));
  if (loads.length) {
    parts.push('', `Loads (median of ${context.loadRuns ?? 1} runs each, peak RSS the largest seen; see bench/load.js):`, '', loadTables(loads));
  }
  const goals = [...(targets(ms) ? targets(ms).split('\n') : []), ...loadTargets(loads)];
  if (goals.length) parts.push('', '### Targets of issue 15', '', ...goals, '', `**${targetSummary(goals)}**`);
  return parts.join('\n');
}

const HEADER = `# Benchmark results

Produced by \`node bench/run.js\` (see bench/README.md); each run inserts its section below,
newest first. Times are wall-clock seconds on the 2-core development machine, which other
engineers share: the load average is recorded with each run.

${RUNS_MARKER}
`;

/** @param {string} markdown @param {Context} _context */
export function writeResults(markdown, _context) {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : HEADER;
  const base = current.includes(RUNS_MARKER) ? current : HEADER + '\n' + current;
  writeFileSync(RESULTS, base.replace(RUNS_MARKER, `${RUNS_MARKER}\n\n${markdown}\n`));
  console.log(`\nwritten to ${RESULTS}`);
}
