/** After a run: its entry in the run history (.pipe/runs/), with the metrics the selected stages left. */
import type { EngineContext } from '../plan/context.js';
import type { Project } from '../project.js';
import type { StageStatus } from '../report/events.js';
import { redactorFor } from '../report/redact.js';
import { assignLanes, type TimingReporter } from '../report/stage-timings.js';
import { RUN_FORMAT, RunHistory, type RunRecord, type StageRun, type SweepInfo } from '../state/run-history.js';
import { metricList, metricsFilesOf, readMetrics, type MetricsRead } from '../metrics/read.js';

export interface RunFacts {
  project: Project;
  engine: EngineContext;
  order: string[];
  timings: TimingReporter;
  counts: Record<StageStatus, number>;
  exitCode: number;
  command: string;
  targets: string[];
  sets: Record<string, unknown>;
  jobs: number;
  sweep?: SweepInfo;
}

const SUCCEEDED: ReadonlySet<StageStatus> = new Set(['ran', 'skipped', 'restored']);

export function runRecordOf(facts: RunFacts, id: string, metrics: MetricsRead): RunRecord {
  const { project, engine, order, timings } = facts;
  const inRun = new Set(order);
  const lanes = assignLanes(timings.timings, facts.jobs);
  const stages: StageRun[] = timings.timings.map((t) => {
    const outs = SUCCEEDED.has(t.status) ? engine.records.stage(t.name)?.outs : undefined;
    const lane = lanes.get(t.name);
    return {
      name: t.name,
      status: t.status,
      start: t.start,
      end: t.end,
      ms: t.end - t.start,
      ...(lane === undefined ? {} : { lane }),
      upstream: (project.graph.upstream[t.name] ?? []).filter((u) => inRun.has(u)),
      ...(outs ? { outs } : {}),
      ...(t.reason && t.status !== 'skipped' ? { reason: t.reason } : {}), // 'up to date' 10,000 times says nothing
    };
  });
  return {
    format: RUN_FORMAT,
    id,
    started: new Date(timings.startedAt).toISOString(),
    ms: Date.now() - timings.startedAt,
    command: facts.command,
    targets: facts.targets,
    sets: facts.sets,
    params: paramsOf(project, order),
    jobs: facts.jobs,
    exitCode: facts.exitCode,
    counts: facts.counts,
    stages,
    metrics: metrics.metrics,
    ...(facts.sweep ? { sweep: facts.sweep } : {}),
  };
}

/** The metrics files of the stages that succeeded in this run, as they are now in the workspace. */
export function metricsAfterRun(facts: Pick<RunFacts, 'project' | 'timings'>): MetricsRead {
  const ok = facts.timings.timings.filter((t) => SUCCEEDED.has(t.status)).map((t) => facts.project.stages.get(t.name)!);
  return readMetrics(facts.project.root, metricsFilesOf(ok));
}

/** Every param of the selected stages (name -> value), in the order the stages declare them. */
export function paramsOf(project: Project, order: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = Object.create(null);
  for (const name of order) Object.assign(params, project.stages.get(name)?.params);
  return params;
}

/** Writes the run's entry (secrets masked like any output of pipe) and returns it. */
export function saveRun(project: Project, record: RunRecord): RunRecord {
  const redactor = redactorFor(project.root);
  const masked = redactor.empty ? record : (JSON.parse(redactor.text(JSON.stringify(record))) as RunRecord);
  new RunHistory(project.stateDir).save(masked);
  return masked;
}

/** One line for the end of a run: the metrics it left (also when it only restored them). */
export function metricsLine(metrics: MetricsRead): string | undefined {
  const values = metricList(metrics.metrics);
  const problems = Object.entries(metrics.problems);
  if (values.length === 0 && problems.length === 0) return undefined;
  const byFile = new Map<string, string[]>();
  for (const m of values) (byFile.get(m.file) ?? byFile.set(m.file, []).get(m.file)!).push(`${m.key}=${formatNumber(m.value)}`);
  const lines = [...byFile].map(([file, kv]) => `  ${file}: ${kv.slice(0, 12).join(' ')}${kv.length > 12 ? ` (+${kv.length - 12} more: pipe metrics show)` : ''}`);
  for (const [file, why] of problems) lines.push(`  ${file}: ${why}`);
  return `metrics:\n${lines.join('\n')}`;
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? n.toExponential(3) : String(Number(n.toPrecision(4)));
}
