/**
 * pipe run --sweep KEY=V1,V2 [--sweep KEY2=...]: every combination of the values, one recorded run each, one
 * after the other; then back to the base values (restored from the cache, so the workspace holds what the
 * plain `pipe run` would leave); then a table of the variants: the parameters that differ, the metrics, the time.
 * Each variant's outputs land in the cache, so the same sweep again restores instead of running.
 */
import type { GlobalOptions } from './options.js';
import { runOnce, selectRun, type RunOptions } from './run.js';
import type { RunRecord } from '../state/run-history.js';
import { EXIT, UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { displayNames, metricList } from '../metrics/read.js';
import { renderTable, type Cell } from '../report/table.js';
import { duration } from '../report/format.js';
import { formatNumber } from './history.js';
import { valueText } from './runs.js';

export interface SweepAxis {
  key: string;
  values: string[];
}

const MAX_VARIANTS = 1000;

export async function sweepCommand(words: string[], opts: RunOptions, globals: GlobalOptions, signal: AbortSignal): Promise<number> {
  if (opts.watch) throw new UserError('--sweep runs each variant once: it does not combine with --watch');
  if (opts.profile) throw new UserError('--sweep records each variant as a run: write a variant\'s trace with `pipe runs trace RUN`, not --profile');
  const axes = parseSweeps(opts.sweep ?? []);
  const base = await selectRun(words, { ...opts, sweep: undefined }, globals);
  checkKeys(axes, base.project.pipeline.vars, base.sets);
  const variants = grid(axes);
  const sweepId = `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
  const runs: RunRecord[] = [];
  let failed = false;
  for (const [i, values] of variants.entries()) {
    if (signal.aborted) break;
    if (!globals.json && !globals.quiet) process.stderr.write(`\nsweep ${i + 1}/${variants.length}: ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    const variant = await selectRun(words, { ...opts, sweep: undefined }, globals, values);
    const code = await runOnce(variant.project, variant.order, {
      ...opts, forceSet: variant.force, requested: variant.requested,
      identity: { sets: variant.sets, targets: variant.targets, sweep: { id: sweepId, index: i + 1, total: variants.length, values } },
      onRecorded: (run) => runs.push(run),
    }, globals, signal);
    if (code === EXIT.interrupted) return code;
    failed ||= code !== EXIT.ok;
  }
  if (opts.dryRun) return failed ? EXIT.stageFailed : EXIT.ok;
  if (!globals.json && !globals.quiet) process.stderr.write('\nsweep: back to the base parameters\n');
  const restored = await runOnce(base.project, base.order, {
    ...opts, forceSet: new Set(), requested: base.requested, identity: { sets: base.sets, targets: base.targets }, unrecorded: true,
  }, { ...globals, json: false, quiet: true }, signal);
  if (restored === EXIT.interrupted) return restored;
  const table = sweepTable(runs, axes);
  if (globals.json) process.stdout.write(JSON.stringify({ type: 'sweep', id: sweepId, ...table.json }) + '\n');
  else {
    process.stdout.write(`\nsweep ${sweepId}: ${runs.length} variants\n${table.text}`);
    process.stderr.write(`the workspace holds the base parameters' outputs; \`pipe checkout RUN\` puts a variant's back\n`);
  }
  return failed || restored !== EXIT.ok ? EXIT.stageFailed : EXIT.ok;
}

/** `KEY=V1,V2,...` each; a key swept twice is a mistake. */
export function parseSweeps(items: string[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`--sweep ${item}: expected KEY=V1,V2,... (a var and its values)`);
    const key = item.slice(0, eq);
    const values = item.slice(eq + 1).split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) throw new UserError(`--sweep ${item}: a value is empty (values are separated by commas)`);
    if (axes.some((a) => a.key === key)) throw new UserError(`--sweep ${key} is given twice: list all its values in one --sweep ${key}=V1,V2`);
    axes.push({ key, values: [...new Set(values)] });
  }
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > MAX_VARIANTS) throw new UserError(`--sweep: ${total} combinations; at most ${MAX_VARIANTS} in one sweep`);
  return axes;
}

/** Each key must name a declared var (or a value inside one), and not be --set as well. */
function checkKeys(axes: SweepAxis[], vars: Record<string, unknown>, sets: Record<string, unknown>): void {
  for (const { key } of axes) {
    if (Object.prototype.hasOwnProperty.call(sets, key)) throw new UserError(`--sweep ${key}: also given with --set (or a shorthand); give it one way`);
    if (!hasPath(vars, key)) {
      const known = varPaths(vars);
      throw new UserError(`--sweep ${key}: no such var${didYouMean(key, known)}; vars: ${known.filter((k) => !k.includes('.')).slice(0, 30).join(', ')}`);
    }
  }
}

function hasPath(vars: Record<string, unknown>, key: string): boolean {
  let current: unknown = vars;
  for (const part of key.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) return false;
    current = (current as Record<string, unknown>)[part];
  }
  return true;
}

/** Every var and every path inside one (a.b.c), a few levels deep: the candidates for "did you mean". */
function varPaths(value: unknown, prefix = '', depth = 0, into: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 3 || into.length > 5000) return into;
  for (const [k, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${k}` : k;
    into.push(name);
    varPaths(v, name, depth + 1, into);
  }
  return into;
}

/** Every combination, the first key outermost. */
export function grid(axes: SweepAxis[]): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const { key, values } of axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return combos;
}

/** The variants side by side: the params whose values differ, every metric, the time, what ran. */
export function sweepTable(runs: RunRecord[], axes: SweepAxis[]): { text: string; json: object } {
  const swept = axes.map((a) => a.key);
  const differing = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].filter((k) => !swept.includes(k) && new Set(runs.map((r) => JSON.stringify(r.params[k]))).size > 1);
  const paramKeys = [...swept, ...differing];
  const paramOf = (r: RunRecord, k: string): unknown => (swept.includes(k) ? r.sweep?.values[k] : r.params[k]);
  const pairs = uniquePairs(runs);
  const names = displayNames(pairs);
  const headers = ['run', ...paramKeys, ...names, 'time', 'ran/restored', 'result'];
  const rows: Cell[][] = runs.map((r) => [
    r.id,
    ...paramKeys.map((k) => valueText(paramOf(r, k))),
    ...pairs.map((p) => { const v = r.metrics[p.file]?.[p.key]; return v === undefined ? undefined : formatNumber(v); }),
    duration(r.ms),
    `${r.counts.ran}/${r.counts.restored}`,
    r.exitCode === 0 ? 'ok' : r.exitCode === EXIT.interrupted ? 'interrupted' : 'failed',
  ]);
  const json = {
    params: paramKeys,
    metrics: pairs.map((p, i) => ({ ...p, name: names[i] })),
    variants: runs.map((r) => ({
      run: r.id,
      params: Object.fromEntries(paramKeys.map((k) => [k, paramOf(r, k)])),
      metrics: r.metrics,
      ms: r.ms,
      counts: r.counts,
      exitCode: r.exitCode,
    })),
  };
  return { text: renderTable(headers, rows), json };
}

function uniquePairs(runs: RunRecord[]): { file: string; key: string }[] {
  const seen = new Set<string>();
  const pairs: { file: string; key: string }[] = [];
  for (const r of runs) {
    for (const m of metricList(r.metrics)) {
      const id = JSON.stringify([m.file, m.key]);
      if (!seen.has(id)) pairs.push({ file: m.file, key: m.key });
      seen.add(id);
    }
  }
  return pairs;
}
