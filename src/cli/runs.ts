/** pipe runs [show RUN | trace RUN]: the run history in .pipe/runs/. */
import path from 'node:path';
import type { GlobalOptions } from './options.js';
import { open } from './session.js';
import { RunHistory, type RunRecord } from '../state/run-history.js';
import { chromeTrace, criticalPath } from '../report/trace.js';
import { renderTable } from '../report/table.js';
import { duration } from '../report/format.js';
import { metricList } from '../metrics/read.js';
import { formatNumber } from './history.js';
import { writeFileAtomic } from '../util/atomic.js';

export async function runsListCommand(opts: { limit?: string }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const runs = new RunHistory(project.stateDir).all();
  const limit = opts.limit === undefined ? 30 : Math.max(1, Number(opts.limit) || 30);
  const shown = runs.slice(-limit);
  if (globals.json) {
    process.stdout.write(JSON.stringify({ runs: shown.map(summaryOf) }) + '\n');
    return;
  }
  if (runs.length === 0) {
    process.stderr.write('no runs recorded yet: each `pipe run` is recorded in .pipe/runs/\n');
    return;
  }
  const rows = shown.map((r) => [r.id, when(r.started), duration(r.ms), counts(r), r.sweep ? `${r.sweep.id} ${r.sweep.index}/${r.sweep.total}` : undefined, firstMetrics(r), r.command]);
  process.stdout.write(renderTable(['run', 'started (UTC)', 'time', 'ran/restored/skipped/failed', 'sweep', 'metrics', 'command'], rows));
  if (runs.length > shown.length) process.stderr.write(`(${runs.length - shown.length} older runs not shown: --limit N)\n`);
}

export async function runsShowCommand(ref: string, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const run = new RunHistory(project.stateDir).resolve(ref);
  const critical = criticalPath(run);
  if (globals.json) {
    process.stdout.write(JSON.stringify({ ...run, criticalPath: critical.map((s) => s.name) }) + '\n');
    return;
  }
  const lines = [
    `run      ${run.id}${run.sweep ? `  (sweep ${run.sweep.id}, variant ${run.sweep.index} of ${run.sweep.total})` : ''}`,
    `started  ${when(run.started)} UTC, took ${duration(run.ms)}, exit code ${run.exitCode}`,
    `command  ${run.command}`,
  ];
  if (Object.keys(run.sets).length) lines.push(`set      ${Object.entries(run.sets).map(([k, v]) => `${k}=${valueText(v)}`).join(' ')}`);
  lines.push(`stages   ${counts(run)} (ran/restored/skipped/failed), -j ${run.jobs}`, '');
  process.stdout.write(lines.join('\n') + '\n');
  const onPath = new Set(critical.map((s) => s.name));
  const rows = run.stages.map((s) => [s.name, s.status, duration(s.ms), s.lane === undefined ? undefined : s.lane + 1, onPath.has(s.name) ? '*' : '']);
  process.stdout.write(renderTable(['stage', 'status', 'time', 'slot', 'critical'], rows, { indent: '  ' }));
  if (critical.length) {
    process.stdout.write(`\ncritical path (${duration(critical[critical.length - 1]!.end - critical[0]!.start)}): ${critical.map((s) => `${s.name} ${duration(s.ms)}`).join(' -> ')}\n`);
  }
  const metrics = metricList(run.metrics);
  if (metrics.length) process.stdout.write(`\nmetrics\n${renderTable(['file', 'metric', 'value'], metrics.map((m) => [m.file, m.key, formatNumber(m.value)]), { indent: '  ' })}`);
  process.stderr.write(`\n\`pipe checkout ${run.id}\` puts this run's outputs back in the workspace; \`pipe runs trace ${run.id}\` writes its Chrome trace\n`);
}

export async function runsTraceCommand(ref: string, opts: { output?: string }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const run = new RunHistory(project.stateDir).resolve(ref);
  const text = JSON.stringify(chromeTrace(run, project.root)) + '\n';
  if (!opts.output) {
    process.stdout.write(text);
    return;
  }
  const target = path.resolve(opts.output);
  writeFileAtomic(target, text);
  process.stderr.write(`trace of run ${run.id}: ${path.relative(process.cwd(), target) || target} (open in https://ui.perfetto.dev or chrome://tracing)\n`);
}

function summaryOf(r: RunRecord) {
  return {
    id: r.id, started: r.started, ms: r.ms, command: r.command, exitCode: r.exitCode, counts: r.counts,
    sets: r.sets, metrics: r.metrics, ...(r.sweep ? { sweep: r.sweep } : {}),
  };
}

function when(iso: string): string {
  return iso.replace('T', ' ').slice(0, 19);
}

function counts(r: RunRecord): string {
  return `${r.counts.ran}/${r.counts.restored}/${r.counts.skipped}/${r.counts.failed + r.counts['not-run']}`;
}

function firstMetrics(r: RunRecord): string | undefined {
  const values = metricList(r.metrics);
  if (values.length === 0) return undefined;
  return values.slice(0, 3).map((m) => `${m.key}=${formatNumber(m.value)}`).join(' ') + (values.length > 3 ? ' ...' : '');
}

export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
