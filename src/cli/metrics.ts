/** pipe metrics show | diff [RUN [RUN2]]: the values of the declared `metrics:` files, now or against an earlier run. */
import type { GlobalOptions } from './options.js';
import { openWithShorthands } from './session.js';
import { metricList, metricsFilesOf, readMetrics, type MetricsByFile, type MetricsRead } from '../metrics/read.js';
import { diffMetrics, isChanged, sameMetrics, type MetricChange } from '../metrics/diff.js';
import { RunHistory, type RunRecord } from '../state/run-history.js';
import { renderTable } from '../report/table.js';
import { formatNumber } from './history.js';
import type { Project } from '../project.js';
import { UserError } from '../util/errors.js';

export interface MetricsOptions {
  set: string[];
  all?: boolean;
}

export async function metricsShowCommand(words: string[], opts: MetricsOptions, globals: GlobalOptions): Promise<void> {
  const { project } = await openWithShorthands(globals, opts.set, words);
  const read = workspaceMetrics(project);
  if (globals.json) {
    process.stdout.write(JSON.stringify({ metrics: read.metrics, problems: read.problems }) + '\n');
    return;
  }
  const rows = metricList(read.metrics).map((m) => [m.file, m.key, formatNumber(m.value)]);
  for (const [file, why] of Object.entries(read.problems)) rows.push([file, '', why]);
  if (rows.length === 0) {
    process.stderr.write('no stage declares metrics: (a stage lists its metrics files under `metrics:`)\n');
    return;
  }
  process.stdout.write(renderTable(['file', 'metric', 'value'], rows));
}

/**
 * Against one run: the workspace now. Without RUN: the latest run whose metrics differ from the workspace
 * (after a run that only changed a param, the run before it), else the latest run.
 */
export async function metricsDiffCommand(refs: string[], opts: MetricsOptions, globals: GlobalOptions): Promise<void> {
  if (refs.length > 2) throw new UserError(`pipe metrics diff takes at most two runs, not ${refs.length}: ${refs.join(' ')}`);
  const { project } = await openWithShorthands(globals, opts.set, []);
  const history = new RunHistory(project.stateDir);
  const now = workspaceMetrics(project);
  const after: { label: string; metrics: MetricsByFile } = refs.length === 2
    ? labelled(history.resolve(refs[1]!))
    : { label: 'workspace', metrics: now.metrics };
  const before = refs.length ? history.resolve(refs[0]!) : defaultBaseline(history, after.metrics);
  const changes = diffMetrics(before.metrics, after.metrics);
  const shown = opts.all ? changes : changes.filter(isChanged);
  if (globals.json) {
    process.stdout.write(JSON.stringify({ against: before.id, with: after.label, diff: shown }) + '\n');
    return;
  }
  process.stderr.write(`${after.label} against run ${before.id} (${before.started.replace('T', ' ').slice(0, 19)} UTC: ${before.command})\n`);
  if (shown.length === 0) {
    process.stdout.write(changes.length ? 'no metric changed\n' : 'no metrics in either\n');
    return;
  }
  process.stdout.write(renderTable(['file', 'metric', before.id, after.label, 'change'], shown.map(row)));
}

function row(c: MetricChange): (string | undefined)[] {
  return [c.file, c.key, num(c.old), num(c.new), c.change === undefined ? (c.old === undefined ? 'new' : 'gone') : signed(c.change, c.old)];
}

function num(n: number | undefined): string | undefined {
  return n === undefined ? undefined : formatNumber(n);
}

function signed(change: number, old: number | undefined): string {
  const pct = old ? ` (${change > 0 ? '+' : ''}${formatNumber((change / Math.abs(old)) * 100)}%)` : '';
  return `${change > 0 ? '+' : ''}${formatNumber(change)}${pct}`;
}

function labelled(run: RunRecord): { label: string; metrics: MetricsByFile } {
  return { label: run.id, metrics: run.metrics };
}

function defaultBaseline(history: RunHistory, current: MetricsByFile): RunRecord {
  const runs = history.all().filter((r) => Object.keys(r.metrics).length > 0);
  if (runs.length === 0) throw new UserError('no recorded run has metrics yet: `pipe run` records them (the stages that declare `metrics:`)');
  return [...runs].reverse().find((r) => !sameMetrics(r.metrics, current)) ?? runs[runs.length - 1]!;
}

/** The metrics files of every stage of the pipeline, as they are in the workspace. */
export function workspaceMetrics(project: Project): MetricsRead {
  return readMetrics(project.root, metricsFilesOf(project.stages.values()));
}
