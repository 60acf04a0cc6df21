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
  executor?: string;
  cancelOrphans?: boolean;
}

export async function runCommand(words: string[], opts: RunOptions, globals: GlobalOptions): Promise<void> {
  const { project, order, requested, force } = await selectRun(words, opts, globals);
  const controller = interruptController();
  const code = await runOnce(project, order, { ...opts, forceSet: force, requested }, globals, controller.signal);
  if (opts.watch && !controller.signal.aborted) {
    const { watchAndRerun } = await import('./watch.js');
    await watchAndRerun({
      project,
      order,
      reload: () => selectRun(words, { ...opts, force: undefined }, globals),
      run: (target, stages) => runOnce(target.project, stages, { ...opts, forceSet: new Set(), requested: [] }, globals, controller.signal),
    }, controller.signal, globals);
    process.exitCode = controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    return;
  }
  process.exitCode = code;
}

/** Opens the pipeline and resolves the targets, the stages to bring up to date and the stages to force. */
async function selectRun(words: string[], opts: RunOptions, globals: GlobalOptions) {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  const forceNames = Array.isArray(opts.force) ? opts.force : [];
  const effectiveTargets = targets.length === 0 && forceNames.length ? forceNames : targets;
  const order = selectStages(project, effectiveTargets);
  const requested = matchTargets(effectiveTargets.length ? effectiveTargets : defaultTargets(project.selectable), project.selectable);
  // --force alone forces the named targets themselves (like snakemake --force), not what is upstream of
  // them; with no target at all it forces every stage (like dvc repro --force)
  const forcedByFlag = effectiveTargets.length ? requested : order;
  const force = new Set(opts.force === true ? forcedByFlag : forceNames.length ? matchTargets(forceNames, project.selectable) : []);
  if (opts.network === false) requireNetworkIsolation('--no-network');
  else if (order.some((n) => project.stages.get(n)?.network === false)) requireNetworkIsolation('a stage with `network: false`');
  return { project, order, requested, force };
}

async function runOnce(
  project: Project,
  order: string[],
  opts: RunOptions & { forceSet: Set<string>; requested: string[] },
  globals: GlobalOptions,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now();
  const reporter = await makeReporter(globals, project, order.length, !!opts.dryRun);
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
    const engine = openEngine(project, remote?.layer);
    const runner = await buildRunner({ project, order, jobs: jobsOf(opts.jobs), executor: opts.executor, cancelOrphans: opts.cancelOrphans, reporter, signal });
    let result: ExecuteResult;
    try {
      result = await execute(engine, order, {
        keepGoing: !!opts.keepGoing,
        force: opts.forceSet,
        offline: !!opts.offline,
        noNetwork: opts.network === false,
        signal,
        runner,
      }, reporter);
    } finally {
      await runner.close?.();
    }
    const team = remote?.team();
    await team?.finish(); // the uploads of this run: the command ends after them
    if (team && !globals.quiet) reporter.note(remoteLine(team.stats));
    engine.local.runs.compactIfLarge(engine.records);
    const succeeded = result.counts.failed === 0 && result.counts['not-run'] === 0 && !result.interrupted;
    const outputsNote = succeeded ? outputsSummary(project, opts.requested) : undefined;
    if (outputsNote && !globals.quiet) reporter.note(outputsNote);
    if (!opts.watch && succeeded) snapshotForNoop(project, engine, order, outputsNote);
    await reporter.summary({
      ...summaryOf(result.counts, started),
      ...(result.interrupted ? { interrupted: true } : {}),
      ...(team ? { remote: remoteSummary(team.stats) } : {}),
    });
    return exitCode(result);
  } finally {
    if (lock) lock.release();
  }
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
 * loading anything (src/cli/fast-noop.ts). Not for what a stat cannot vouch for: globs, fetched models.
 * It vouches with the stats under which this run hashed each dep and output, never with fresh ones.
 */
function snapshotForNoop(project: Project, engine: EngineContext, order: string[], outputsNote: string | undefined): void {
  const words = fastPathWords(process.argv);
  if (!words || project.globbed) return;
  const stages = order.map((n) => project.stages.get(n)!);
  if (stages.some((s) => s.fetch || s.deps.some(isGlob))) return;
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
