/** pipe run: bring the targets up to date. */
import { buildRunner } from './build-runner.js';
import { requireNetworkIsolation } from '../exec/isolation.js';
import { execute, type ExecuteResult } from '../exec/execute.js';
import { defaultTargets, matchTargets } from '../graph/select.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { absolute, openEngine, type EngineContext } from '../plan/context.js';
import { currentStatKey, type HashedStat } from '../hash/index.js';
import { isGlob } from '../pipeline/paths.js';
import { dropSnapshots, fastPathWords, writeSnapshot } from './fast-noop.js';
import { importHash, type Project } from '../project.js';
import type { Reporter, StageStatus, SummaryEvent } from '../report/events.js';
import { planOf, plannedStatus } from './states.js';
import { acquireLock } from '../state/lock.js';
import { EXIT, UserError } from '../util/errors.js';
import type { GlobalOptions } from './options.js';
import { openWithShorthands, selectStages } from './session.js';
import { makeReporter } from './reporter.js';
import { releaseStartupSignals } from './signals.js';
import { openTeamCache, remoteLine, remoteSummary } from '../remote/open.js';
import { withoutUserinfo } from '../remote/endpoint.js';
import { redactorFor } from '../report/redact.js';
import { TimingReporter } from '../report/stage-timings.js';
import { chromeTrace } from '../report/trace.js';
import { RunHistory, type RunRecord, type SweepInfo } from '../state/run-history.js';
import { metricsAfterRun, metricsLine, runRecordOf, saveRun } from './history.js';
import type { MetricsRead } from '../metrics/read.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface RunOptions {
  set: string[];
  jobs?: string;
  dryRun?: boolean;
  force?: boolean | string[];
  keepGoing?: boolean;
  offline?: boolean;
  network?: boolean;
  watch?: boolean;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
  /** KEY=V1,V2,...: run a grid of variants (src/cli/sweep.ts) */
  sweep?: string[];
  /** write the run's Chrome trace to this file */
  profile?: string;
  from?: string[];
  until?: string[];
  downstream?: boolean;
  /** pipe pull: restore from the caches, run nothing */
  restoreOnly?: boolean;
  executor?: string;
  cancelOrphans?: boolean;
}

/** What one run is, for its entry in the run history. */
export interface RunIdentity {
  sets: Record<string, unknown>;
  targets: string[];
  sweep?: SweepInfo;
}

export async function runCommand(words: string[], opts: RunOptions, globals: GlobalOptions): Promise<void> {
  if (opts.sweep?.length) {
    process.exitCode = await (await import('./sweep.js')).sweepCommand(words, opts, globals, interruptController().signal);
    return;
  }
  const { project, order, requested, force, sets, targets } = await selectRun(words, opts, globals);
  const controller = interruptController();
  const code = await runOnce(project, order, { ...opts, forceSet: force, requested, identity: { sets, targets } }, globals, controller.signal);
  if (opts.watch && !controller.signal.aborted) {
    const { watchAndRerun } = await import('./watch.js');
    await watchAndRerun({
      project,
      order,
      reload: () => selectRun(words, { ...opts, force: undefined }, globals),
      run: (target, stages) => runOnce(target.project, stages, { ...opts, forceSet: new Set(), requested: () => [], identity: { sets, targets } }, globals, controller.signal),
    }, controller.signal, globals);
    process.exitCode = controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    return;
  }
  process.exitCode = code;
}

/** Opens the pipeline and resolves the targets, the stages to bring up to date and the stages to force. */
export async function selectRun(words: string[], opts: RunOptions, globals: GlobalOptions, extraSets: Record<string, unknown> = {}) {
  const { project, targets, sets } = await openWithShorthands(globals, opts.set, words, {}, extraSets);
  if (opts.profile !== undefined) checkTraceFile(opts.profile, project);
  const forceNames = Array.isArray(opts.force) ? opts.force : [];
  const effectiveTargets = targets.length === 0 && forceNames.length ? forceNames : targets;
  const order = selectStages(project, effectiveTargets, opts);
  // the stages asked for (without their upstream): only a finished run's outputs note and --force need them
  let asked: string[] | undefined;
  const requested = () => (asked ??= matchTargets(effectiveTargets.length ? effectiveTargets : defaultTargets(project.selectable), project.selectable));
  // --force alone forces the named targets themselves (like snakemake --force), not what is upstream of
  // them; with no target at all it forces every stage (like dvc repro --force)
  const forcedByFlag = effectiveTargets.length ? requested() : order;
  const force = new Set(opts.force === true ? forcedByFlag : forceNames.length ? matchTargets(forceNames, project.selectable) : []);
  if (opts.network === false) requireNetworkIsolation('--no-network');
  else if (order.some((n) => project.stages.get(n)?.network === false)) requireNetworkIsolation('a stage with `network: false`');
  return { project, order, requested, force, sets, targets };
}

export interface OnceOptions extends RunOptions {
  forceSet: Set<string>;
  requested: () => string[];
  identity: RunIdentity;
  /** receives the run's history entry */
  onRecorded?: (run: RunRecord) => void;
  /** a sweep's last step (back to the base parameters) is housekeeping, not a run of its own */
  unrecorded?: boolean;
}

export async function runOnce(
  project: Project,
  order: string[],
  opts: OnceOptions,
  globals: GlobalOptions,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now();
  const shown = await makeReporter(globals, project, order.length, !!opts.dryRun);
  const timings = new TimingReporter(shown);
  const reporter: Reporter = opts.dryRun ? shown : timings;
  const lock = opts.dryRun ? undefined : await acquireLock(project.stateDir, {
    command: redactorFor(project.root).text(`pipe run ${process.argv.slice(3).map(withoutUserinfo).join(' ')}`.trim()),
    signal,
    onWait: (h) => reporter.note(`waiting for another run of this project to finish: pid ${h.pid} (${h.command}), started ${h.started}`),
    onTakeOver: (message) => reporter.note(message),
    outputDirs: [...project.stages.values()].flatMap((s) => s.outs.map((o) => path.dirname(path.join(project.root, o)))),
  }).catch((err) => {
    if (signal.aborted) return 'interrupted' as const;
    throw err;
  });
  if (lock === 'interrupted') return EXIT.interrupted;
  if (opts.dryRun) return printPlan(project, order, opts, reporter, started);
  try {
    if (lock) dropSnapshots(project.root);
    const remote = openTeamCache(project, opts, reporter);
    if (opts.restoreOnly && !remote) throw new UserError('pipe pull needs a team cache: --remote-cache URL, PIPE_REMOTE_CACHE or remote_cache: in pipeline.yaml');
    const engine = openEngine(project, remote?.layer);
    const runner = await buildRunner({ project, order, jobs: jobsOf(opts.jobs), executor: opts.executor, cancelOrphans: opts.cancelOrphans, reporter, signal });
    let result: ExecuteResult;
    try {
      result = await execute(engine, order, {
        keepGoing: !!opts.keepGoing,
        force: opts.forceSet,
        offline: !!opts.offline,
        noNetwork: opts.network === false,
        restoreOnly: !!opts.restoreOnly,
        signal,
        runner,
      }, reporter);
    } finally {
      await runner.close?.();
    }
    const team = remote?.team();
    await team?.finish(); // the uploads of this run: the command ends after them
    if (team && !globals.quiet) reporter.note(remoteLine(team.stats));
    if (opts.restoreOnly) reporter.note(pullLine(result));
    engine.local.runs.compactIfLarge(engine.records);
    const succeeded = result.counts.failed === 0 && result.counts['not-run'] === 0 && !result.interrupted;
    const outputsNote = succeeded ? outputsSummary(project, opts.requested()) : undefined;
    if (outputsNote && !globals.quiet) reporter.note(outputsNote);
    const metrics = metricsAfterRun({ project, timings });
    const metricsNote = metricsLine(metrics);
    if (metricsNote && !globals.quiet) reporter.note(metricsNote);
    if (!opts.watch && succeeded) snapshotForNoop(project, engine, order, outputsNote);
    const code = exitCode(result);
    const run = opts.unrecorded ? undefined : recordRun(project, engine, order, timings, result, code, opts, metrics, runner.capacity.cpu);
    if (run && opts.profile) writeTrace(project, run, opts.profile, reporter);
    if (run) opts.onRecorded?.(run);
    await reporter.summary({
      ...summaryOf(result.counts, started),
      ...(result.interrupted ? { interrupted: true } : {}),
      ...(team ? { remote: remoteSummary(team.stats) } : {}),
      ...(run ? { run: run.id } : {}),
      ...(Object.keys(metrics.metrics).length ? { metrics: metrics.metrics } : {}),
    });
    return code;
  } finally {
    if (lock) lock.release();
  }
}

/**
 * `--profile FILE` is the Chrome trace: a .json file. A bare word (`--profile cuda`) is a hardware profile
 * meant for the pipeline's own shorthand, which must not silently become a trace file named `cuda`.
 */
function checkTraceFile(file: string, project: Project): void {
  if (/\.json$/i.test(file)) return;
  const shorthand = project.args.find((a) => a.flags.some((f) => /profile/i.test(f)));
  const hint = shorthand ? `; this pipeline's ${shorthand.var} is set with ${shorthand.flags.join('/')}` : '';
  throw new UserError(`--profile ${file}: --profile writes the run's Chrome trace, a .json file (--profile trace.json)${hint}`);
}

/** The run's entry in .pipe/runs/; a history that cannot be written costs a note, never the run's result. */
function recordRun(
  project: Project, engine: EngineContext, order: string[], timings: TimingReporter, result: ExecuteResult, code: number,
  opts: OnceOptions, metrics: MetricsRead, slots: number,
): RunRecord | undefined {
  const history = new RunHistory(project.stateDir);
  const record = runRecordOf({
    project, engine, order, timings, counts: result.counts, exitCode: code,
    command: redactorFor(project.root).text(['pipe', ...process.argv.slice(2).map(withoutUserinfo)].join(' ')),
    targets: opts.identity.targets, sets: opts.identity.sets, jobs: slots, sweep: opts.identity.sweep,
  }, history.newId(timings.startedAt), metrics);
  try {
    return saveRun(project, record);
  } catch (err) {
    timings.note(`pipe: could not record the run in ${path.relative(process.cwd(), history.dir) || history.dir}: ${(err as Error).message}`);
    return undefined;
  }
}

function writeTrace(project: Project, run: RunRecord, file: string, reporter: Reporter): void {
  const target = path.resolve(file);
  try {
    writeFileAtomic(target, JSON.stringify(chromeTrace(run, project.root)) + '\n');
    reporter.note(`trace: ${path.relative(process.cwd(), target) || target} (open in https://ui.perfetto.dev or chrome://tracing)`);
  } catch (err) {
    reporter.note(`pipe: could not write the trace ${file}: ${(err as Error).message}`);
  }
}

/** What pull got and what it could not. */
function pullLine(result: ExecuteResult): string {
  const { restored, skipped } = result.counts;
  const missing = result.notRestored;
  const names = missing.length > 10 ? `${missing.slice(0, 10).join(', ')}, ...` : missing.join(', ');
  const got = `pulled ${restored} stage(s), ${skipped} already up to date`;
  return missing.length ? `${got}; ${missing.length} not in the team cache for their current inputs (run them): ${names}` : `${got}; nothing missing`;
}

/** A dry run is the plan printed, nothing more: what each stage would do, and why. */
async function printPlan(project: Project, order: string[], opts: RunOptions & { forceSet: Set<string> }, reporter: Reporter, started: number): Promise<number> {
  const plans = await planOf(openEngine(project), order, { force: opts.forceSet, offline: !!opts.offline });
  const counts: Record<StageStatus, number> = { ran: 0, skipped: 0, restored: 0, failed: 0, 'not-run': 0 };
  reporter.plan(order, true);
  for (const p of plans) {
    const status = plannedStatus(p.decision);
    counts[status]++;
    const state = p.decision.action === 'fail' ? undefined : p.decision.state;
    reporter.finish({ type: 'stage', stage: p.name, status, ms: 0, reasons: p.decision.reasons, ...(state ? { state } : {}) });
  }
  await reporter.summary(summaryOf(counts, started));
  return counts.failed + counts['not-run'] > 0 ? EXIT.stageFailed : EXIT.ok;
}

/** SPEC's summary: `failed` counts the stages not run because of a failure too; `notRun` says how many. */
function summaryOf(counts: Record<StageStatus, number>, started: number): SummaryEvent {
  const { ran, skipped, restored, failed } = counts;
  return { type: 'summary', ran, skipped, restored, failed: failed + counts['not-run'], notRun: counts['not-run'], ms: Date.now() - started };
}

/** Where the results are: the outputs of the stages the user asked for (not of everything upstream). */
function outputsSummary(project: Project, requested: string[]): string | undefined {
  const outs = requested.flatMap((name) => project.stages.get(name)?.outs ?? []).flatMap((o) => listed(project.root, o));
  if (outs.length === 0 || outs.length > 20) return undefined;
  return `outputs:\n${outs.map((o) => `  ${o}`).join('\n')}`;
}

/**
 * Every selected stage is up to date now: leave the stat snapshot the next identical command checks before
 * loading anything (src/cli/fast-noop.ts). Not for what a stat cannot vouch for: globs, fetched models, stages that run every time.
 * It vouches with the stats under which this run hashed each dep and output, never with fresh ones.
 */
function snapshotForNoop(project: Project, engine: EngineContext, order: string[], outputsNote: string | undefined): void {
  const words = fastPathWords(process.argv);
  if (!words || project.globbed) return;
  const stages = order.map((n) => project.stages.get(n)!);
  if (stages.some((s) => s.fetch || s.alwaysChanged || s.deps.some(isGlob))) return;
  const hashed = hashedStats(engine, stages.flatMap((s) => [...s.deps, ...s.outs]));
  const imports = importStats(project);
  if (!hashed || !imports) return;
  try {
    writeSnapshot({
      root: project.root,
      pipelineText: project.loadedFrom.text,
      targets: words.targets,
      stages: order,
      hashed: [...imports, ...hashed],
      currentKey: currentStatKey,
      outputsNote,
    });
  } catch {
    /* only an optimisation */
  }
}

/** The stats under which this run hashed each path; undefined if it did not hash one of them. */
function hashedStats(engine: EngineContext, paths: string[]): HashedStat[] | undefined {
  const all: HashedStat[] = [];
  for (const rel of new Set(paths)) {
    const stats = engine.stats.statsHashedUnder(absolute(engine, rel));
    if (!stats) return undefined;
    for (const s of stats) all.push(s);
  }
  return all;
}

/** The imports' stats, taken before checking that their content is still what the pipeline was loaded from. */
function importStats(project: Project): HashedStat[] | undefined {
  const stats: HashedStat[] = [];
  for (const rel of project.imports) {
    const abs = path.join(project.root, rel);
    const key = currentStatKey(abs);
    if (importHash(abs) !== project.loadedFrom.imports[rel]) return undefined;
    stats.push([abs, key]);
  }
  return stats;
}

/** A file itself; a folder as the files in it (a few), so the user sees e.g. the muxed film's name. */
function listed(root: string, out: string): string[] {
  const abs = path.join(root, out);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [out];
  const files = readdirSync(abs).sort();
  return files.length > 0 && files.length <= 5 ? files.map((f) => `${out}/${f}`) : [out + '/'];
}

function exitCode(result: ExecuteResult): number {
  if (result.interrupted) return EXIT.interrupted;
  return result.counts.failed + result.counts['not-run'] > 0 ? EXIT.stageFailed : EXIT.ok;
}

/** -j as a number; undefined when not given (each runner has its default: cores, or jobs in flight). */
function jobsOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`-j ${value}: expected a whole number of at least 1`);
  return n;
}

/** First Ctrl-C: stop every stage process and record nothing partial. A second one exits at once. */
function interruptController(): AbortController {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  releaseStartupSignals();
  return controller;
}

export type { Reporter };
