/**
 * The builder: walks the selected stages in dependency order, asks the planner whether each one is fresh,
 * restores or runs it, and records what it produced. Runners (local processes, fetches) do the work.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { decide, recordOf, RESTORE_REASON, type Decision, type StageState } from '../plan/decide.js';
import { absolute, logFileOf, type EngineContext } from '../plan/context.js';
import { outputDigest, stageInputs, type StageInputs } from '../plan/inputs.js';
import type { Reporter, StageStatus } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';
import { isWithinFolder } from '../pipeline/paths.js';
import type { OutputRecord } from '../state/records.js';
import { AsideArea, type SetAside } from '../state/aside.js';
import { ResourcePool } from './resources.js';
import { runFetchStage, fetchDecision, type FetchRunContext } from './fetch-runner.js';
import { baseEnvironment, stageEnvironment } from './environment.js';
import { prepareAppCaches } from './cache-folders.js';
import { ShellPool } from './shell-pool.js';
import { localRunner, type StageRunner } from './runner.js';
import { readLogTail } from './process.js';
import { redactorFor } from '../report/redact.js';
import { ProcessRegistry } from '../state/recover.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { walkGraph, type BlockedReport } from './walk.js';
import { ObjectUnavailable } from '../state/objects.js';
import { StorageError, isStorageFailure } from '../util/errors.js';

export interface ExecuteOptions {
  jobs: number;
  keepGoing: boolean;
  dryRun: boolean;
  /** stage names to run regardless of freshness */
  force: ReadonlySet<string>;
  offline: boolean;
  /** run every command stage without network access */
  noNetwork: boolean;
  signal: AbortSignal;
  resources: ResourcePool;
  /** where commands run (default: local processes) */
  runner?: StageRunner;
}

export interface ExecuteResult {
  counts: Record<StageStatus, number>;
  notRun: number;
  interrupted: boolean;
}

/** A dry run cannot know what a stage that would run will produce. */
const PENDING = 'pending';

export async function execute(ctx: EngineContext, order: string[], opts: ExecuteOptions, reporter: Reporter): Promise<ExecuteResult> {
  const registry = new ProcessRegistry(ctx.project.stateDir);
  const pool = !opts.runner && !opts.dryRun && ShellPool.available()
    ? new ShellPool(ctx.project.root, baseEnvironment(ctx.project.pipeline), path.join(ctx.project.stateDir, 'logs'), { add: (pgid) => registry.add(pgid, 'shell worker'), remove: (pgid) => registry.remove(pgid) })
    : undefined;
  const run = new Run(ctx, pool ? { ...opts, runner: { name: 'shell-pool', run: (spec) => pool.run(spec) } } : opts, reporter);
  reporter.plan(order, opts.dryRun);
  await walkGraph(order, ctx.project.graph.upstream, (name) => run.visit(name), { isStopping: () => run.stopping }, (b) => run.blocked(b));
  pool?.close();
  await run.aside.close();
  saveState(ctx);
  return { counts: run.counts, notRun: run.notRun, interrupted: opts.signal.aborted };
}

class Run {
  readonly counts: Record<StageStatus, number> = { ran: 0, skipped: 0, restored: 0, failed: 0 };
  notRun = 0;
  private failed = false;
  /** stage -> output digest, as produced or confirmed in this run */
  private readonly outputs = new Map<string, string>();
  private readonly fetchContext: FetchRunContext;
  private readonly processes: ProcessRegistry;
  private readonly linkMemo = new Map<string, string>();
  readonly aside: AsideArea;

  constructor(private readonly ctx: EngineContext, private readonly opts: ExecuteOptions, private readonly reporter: Reporter) {
    this.fetchContext = { engine: ctx, offline: opts.offline, signal: opts.signal, reporter };
    this.processes = new ProcessRegistry(ctx.project.stateDir);
    this.aside = new AsideArea(ctx.project.stateDir);
  }

  get stopping(): boolean {
    return this.opts.signal.aborted || (this.failed && !this.opts.keepGoing);
  }

  async visit(name: string): Promise<'ok' | 'failed'> {
    const stage = this.ctx.project.stages.get(name)!;
    const started = Date.now();
    try {
      return await this.bringUpToDate(stage, started);
    } catch (err) {
      return this.fail(stage, started, errorText(err));
    }
  }

  blocked({ name, cause }: BlockedReport): void {
    this.notRun++;
    this.counts.failed++;
    const reason = this.opts.signal.aborted ? 'not run: interrupted' : cause ? `not run: upstream stage '${cause}' failed` : 'not run: the run stopped after a failure';
    this.reporter.finish({ type: 'stage', stage: name, status: 'failed', ms: 0, reason });
  }

  private async bringUpToDate(stage: Stage, started: number): Promise<'ok' | 'failed'> {
    const upstream = this.upstreamOutputs(stage);
    if (this.opts.dryRun && Object.values(upstream).includes(PENDING)) {
      const waiting = Object.keys(upstream).filter((u) => upstream[u] === PENDING);
      const state = this.ctx.records.stage(stage.name) ? 'stale' : 'never-run';
      return this.wouldRun(stage, started, [`upstream stage ${waiting.join(', ')} will run first`], state);
    }
    const force = this.opts.force.has(stage.name);
    if (stage.fetch) {
      const { inputs, decision } = await fetchDecision(this.fetchContext, stage, upstream, force);
      return this.act(stage, inputs, decision, started);
    }
    let inputs: StageInputs;
    try {
      inputs = await stageInputs(this.ctx, stage, upstream, undefined, (dep) => this.refuseEscaping(stage, [dep]));
    } catch (err) {
      if (err instanceof EscapeError) return this.fail(stage, started, err.message);
      throw err;
    }
    const unproducible = inputs.missing.filter((dep) => !this.isProducedUpstream(stage, dep));
    if (unproducible.length) {
      return this.fail(stage, started, `missing dep${unproducible.length > 1 ? 's' : ''} ${unproducible.join(', ')} (no file, and no stage produces it)`);
    }
    return this.act(stage, inputs, await decide(this.ctx, stage, inputs, force), started);
  }

  private async act(stage: Stage, inputs: StageInputs, decision: Decision, started: number): Promise<'ok' | 'failed'> {
    if (decision.action !== 'skip') {
      // checked only before writing: a fresh stage touches nothing, and its deps were checked when first read
      const escaping = this.escapingPaths(stage, [...stage.outs, ...(stage.log ? [stage.log] : [])]);
      if (escaping.length) return this.fail(stage, started, escapeMessage(escaping));
    }
    if (decision.action === 'skip') {
      this.outputs.set(stage.name, decision.outputHash);
      return this.finish(stage, 'skipped', started, decision.reasons.join('; '), 'fresh');
    }
    if (this.opts.dryRun) {
      if (decision.action === 'restore') {
        this.outputs.set(stage.name, decision.from.outputHash);
        return this.finish(stage, 'restored', started, decision.reasons.join('; '), decision.state);
      }
      return this.wouldRun(stage, started, decision.reasons, decision.state);
    }
    if (decision.action === 'run' && decision.damaged) this.dropDamaged(stage, decision.damaged, decision.reasons);
    if (decision.action === 'restore') {
      const unavailable = await this.restore(stage, decision.from.outs);
      if (unavailable) return this.runStage(stage, inputs, [...decision.reasons.filter((r) => r !== RESTORE_REASON), unavailable], started);
      this.ctx.records.record(recordOf(stage, inputs, decision.from.outs, decision.from.outputHash, Date.now() - started));
      this.outputs.set(stage.name, decision.from.outputHash);
      return this.finish(stage, 'restored', started, decision.reasons.join('; '), decision.state);
    }
    return this.runStage(stage, inputs, decision.reasons, started);
  }

  private wouldRun(stage: Stage, started: number, reasons: string[], state: StageState = 'stale'): 'ok' {
    this.outputs.set(stage.name, PENDING);
    this.finish(stage, 'ran', started, `would run: ${reasons.join('; ')}`, state);
    return 'ok';
  }

  private async runStage(stage: Stage, inputs: StageInputs, reasons: string[], started: number): Promise<'ok' | 'failed'> {
    const release = await this.opts.resources.acquire(stage.resources, stage.pool);
    try {
      if (this.stopping) {
        this.blocked({ name: stage.name });
        return 'failed';
      }
      const began = Date.now();
      this.reporter.start(stage.name, reasons.join('; '));
      if (stage.fetch) {
        const outputHash = await runFetchStage(this.fetchContext, stage);
        this.ctx.records.record(recordOf(stage, inputs, [], outputHash, Date.now() - began));
        this.outputs.set(stage.name, outputHash);
        return this.finish(stage, 'ran', began, reasons.join('; '));
      }
      return await this.runCommand(stage, inputs, reasons, began, release);
    } finally {
      release();
    }
  }

  /**
   * `release` frees the stage's resources once its process is done: checking and storing outputs is pipe's work.
   * The command starts without its outputs (unless `persist`), so its result never depends on an earlier run;
   * if it fails, the outputs it started without are put back.
   */
  private async runCommand(stage: Stage, inputs: StageInputs, reasons: string[], began: number, release: () => void): Promise<'ok' | 'failed'> {
    let setAside: SetAside[];
    try {
      prepareAppCaches(this.ctx.project.pipeline);
      setAside = stage.persist ? this.keepOutputs(stage) : await this.clearOutputs(stage);
    } catch (err) {
      return this.fail(stage, began, errorText(err));
    }
    const progress = { recorded: false };
    try {
      return await this.runAndRecord(stage, inputs, reasons, began, release, setAside, progress);
    } finally {
      if (!progress.recorded && !stage.persist) await this.bringBackOutputs(stage, setAside);
    }
  }

  private async runAndRecord(
    stage: Stage, inputs: StageInputs, reasons: string[], began: number, release: () => void,
    setAside: SetAside[], progress: { recorded: boolean },
  ): Promise<'ok' | 'failed'> {
    const logFile = logFileOf(this.ctx, stage);
    const result = await (this.opts.runner ?? localRunner).run({
      cmd: stage.cmd!,
      cwd: this.ctx.project.root,
      env: stageEnvironment(this.ctx.project.pipeline, stage, this.ctx.fetchStages),
      logFile,
      signal: this.opts.signal,
      noNetwork: this.opts.noNetwork || stage.network === false,
      registry: { add: (pgid) => this.processes.add(pgid, stage.name), remove: (pgid) => this.processes.remove(pgid) },
      watchOutput: this.reporter.output && ((file) => this.reporter.output!(stage.name, file)),
    });
    release();
    redactorFor(this.ctx.project.root).file(logFile); // the stage may have printed a token from its environment
    const log = path.relative(process.cwd(), logFile) || logFile;
    const isolated = this.opts.noNetwork || stage.network === false;
    if (result.interrupted) return this.fail(stage, began, 'interrupted', { log });
    if (result.spawnError) return this.fail(stage, began, `could not start: ${result.spawnError}`, { log });
    if (result.exitCode !== 0) {
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      const note = isolated ? ' — it ran without network access (--no-network / network: false); a download attempt fails like this' : '';
      return this.fail(stage, began, `command failed (${how})${note}`, { log, tail: result.tail });
    }
    const unwritten = this.unwrittenOutputs(stage);
    if (unwritten.length) return this.fail(stage, began, `exited 0 but did not write ${unwritten.join(', ')}`, { log, tail: readLogTail(logFile) });
    const outs = await this.storeOutputs(stage);
    const outputHash = outputDigest(outs);
    this.aside.markDone(setAside);
    this.ctx.records.record(recordOf(stage, inputs, outs, outputHash, Date.now() - began));
    progress.recorded = true;
    this.outputs.set(stage.name, outputHash);
    this.dropSetAside(setAside);
    return this.finish(stage, 'ran', began, reasons.join('; '));
  }

  /** `persist: true`: the outputs stay where they are; only their folders are made. */
  private keepOutputs(stage: Stage): SetAside[] {
    for (const out of stage.outs) {
      const abs = absolute(this.ctx, out);
      this.ctx.stats.invalidate(abs);
      this.ensureDir(path.dirname(abs));
    }
    return [];
  }

  /**
   * Moves the existing outputs out of the way (a rename each) and creates their parent folders. Whether the
   * cache holds an output is known from the stat cache; only an output whose stat changed is read.
   */
  private async clearOutputs(stage: Stage): Promise<SetAside[]> {
    const setAside: SetAside[] = [];
    try {
      for (const out of outermost(stage.outs)) {
        const abs = absolute(this.ctx, out);
        this.ensureDir(path.dirname(abs));
        if (lstatSync(abs, { throwIfNoEntry: false })) setAside.push(this.aside.moveAway(out, abs, await this.holdsRecorded(stage, out, abs)));
      }
    } catch (err) {
      for (const entry of setAside) await this.aside.putBack(entry);
      throw err;
    } finally {
      for (const out of stage.outs) this.ctx.stats.invalidate(absolute(this.ctx, out));
    }
    return setAside;
  }

  /** The output at `abs` is exactly what the stage's last run recorded, and the cache has it. */
  private async holdsRecorded(stage: Stage, out: string, abs: string): Promise<boolean> {
    const recorded = this.ctx.records.stage(stage.name)?.outs.find((o) => o.path === out);
    if (!recorded || recorded.kind === 'missing') return false;
    const now = this.ctx.stats.peek(abs) ?? (await this.ctx.stats.hash(abs));
    return now.kind === recorded.kind && now.hash === recorded.hash && this.ctx.objects.has(recorded);
  }

  /**
   * The stage failed: what it wrote is not a result. Each output goes back to what was there (set aside), else
   * to the last recorded one (from the cache), else to nothing. A put-back that fails is left for the next
   * run's recovery, with a note.
   */
  private async bringBackOutputs(stage: Stage, setAside: SetAside[]): Promise<void> {
    const recorded = this.ctx.records.stage(stage.name)?.outs ?? [];
    for (const out of outermost(stage.outs)) {
      const abs = absolute(this.ctx, out);
      const entry = setAside.find((e) => e.out === out);
      try {
        if (entry) await this.aside.putBack(entry);
        else await this.restoreRecorded(recorded.find((o) => o.path === out), abs);
      } catch (err) {
        this.reporter.note(`could not put back ${out} after '${stage.name}' failed (${errorText(err)}); the next run tries again`);
      }
    }
    for (const out of stage.outs) this.ctx.stats.invalidate(absolute(this.ctx, out));
  }

  private async restoreRecorded(recorded: OutputRecord | undefined, abs: string): Promise<void> {
    await rm(abs, { recursive: true, force: true });
    if (recorded && recorded.kind !== 'missing' && this.ctx.objects.has(recorded)) await this.ctx.objects.restore(recorded, abs);
  }

  /** The stage succeeded: its earlier outputs go, except those the cache does not hold, which are kept (and said so). */
  private dropSetAside(setAside: SetAside[]): void {
    if (setAside.length === 0) return;
    try {
      for (const { out, kept } of this.aside.drop(setAside)) {
        this.reporter.note(`the earlier ${out} was not the output pipe recorded (edited by hand, or never recorded): kept it at ${kept}`);
      }
    } catch (err) {
      this.reporter.note(`could not tidy away the earlier outputs of '${setAside[0]!.out}' (${errorText(err)}); the next run does`);
    }
  }

  private readonly knownDirs = new Set<string>();

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  /** An output that is missing after the command: with the outputs moved away first, one that exists was written. */
  private unwrittenOutputs(stage: Stage): string[] {
    return stage.outs.filter((out) => !lstatSync(absolute(this.ctx, out), { throwIfNoEntry: false }));
  }

  private async storeOutputs(stage: Stage): Promise<OutputRecord[]> {
    const outs: OutputRecord[] = [];
    for (const out of stage.outs) {
      const abs = absolute(this.ctx, out);
      const h = await this.ctx.stats.hash(abs);
      await this.ctx.objects.put(abs, h, out);
      outs.push({ path: out, kind: h.kind, hash: h.hash, size: h.size, ...(h.exec ? { exec: true } : {}) });
    }
    return outs;
  }

  private dropDamaged(stage: Stage, out: OutputRecord, reasons: string[]): void {
    this.ctx.objects.dropDamaged(out);
    this.reporter.note(`pipe: ${stage.name}: ${reasons[reasons.length - 1]}`);
  }

  /**
   * Puts the recorded outputs back from the cache. When one of them is not there, or is damaged (then
   * the store has dropped it), says so and returns the reason: the stage runs instead.
   */
  private async restore(stage: Stage, outs: OutputRecord[]): Promise<string | undefined> {
    for (const out of outs) {
      const abs = absolute(this.ctx, out.path);
      try {
        await this.ctx.objects.restore(out, abs, out.path);
      } catch (err) {
        if (!(err instanceof ObjectUnavailable)) throw err;
        const reason = `cached output ${out.path} ${err.detail}${err.damaged ? ': dropped it' : ''}; running the stage instead`;
        this.reporter.note(`pipe: ${stage.name}: ${reason}`);
        return reason;
      }
      await this.ctx.stats.hash(abs);
    }
    return undefined;
  }

  private refuseEscaping(stage: Stage, paths: string[]): void {
    const escaping = this.escapingPaths(stage, paths, true);
    if (escaping.length) throw new EscapeError(escapeMessage(escaping));
  }

  /** paths that a symlink leads out of the project */
  /** `reading`: deps may lead into an `allow_outside` folder; outputs and logs never leave the project. */
  private escapingPaths(_stage: Stage, paths: string[], reading = false): string[] {
    const allowed = reading ? this.ctx.project.pipeline.allowOutside ?? [] : [];
    return paths.flatMap((p) => {
      if (reading && path.isAbsolute(p)) return []; // an allow_outside dep, checked when the pipeline was loaded
      const target = escapeThroughSymlink(this.ctx.project.root, p, this.linkMemo);
      if (target === undefined || allowed.some((dir) => isWithinFolder(dir, target))) return [];
      return [`'${p}' leads outside the project through a symlink (to ${target})`];
    });
  }

  private upstreamOutputs(stage: Stage): Record<string, string> {
    const result: Record<string, string> = Object.create(null); // a stage may be named __proto__
    for (const u of this.ctx.project.graph.upstream[stage.name] ?? []) {
      result[u] = this.outputs.get(u) ?? this.ctx.records.stage(u)?.outputHash ?? PENDING;
    }
    return result;
  }

  /** A missing dep is fine in a dry run when an upstream stage will produce it. */
  private isProducedUpstream(stage: Stage, dep: string): boolean {
    if (!this.opts.dryRun) return false;
    return (this.ctx.project.graph.upstream[stage.name] ?? []).some((u) =>
      this.ctx.project.stages.get(u)!.outs.some((o) => dep === o || dep.startsWith(o + '/')));
  }

  private finish(stage: Stage, status: StageStatus, started: number, reason: string, state?: StageState): 'ok' {
    this.counts[status]++;
    this.reporter.finish({ type: 'stage', stage: stage.name, status, ms: Date.now() - started, reason, ...(state ? { state } : {}) });
    return 'ok';
  }

  private fail(stage: Stage, started: number, reason: string, extra: { log?: string; tail?: string[] } = {}): 'failed' {
    this.failed = true;
    this.counts.failed++;
    this.reporter.finish({ type: 'stage', stage: stage.name, status: 'failed', ms: Date.now() - started, reason, ...extra });
    return 'failed';
  }
}

class EscapeError extends Error {}

function escapeMessage(escaping: string[]): string {
  return `${escaping.join('; ')}: pipe only reads and writes inside the project`;
}

/** Records first (they are the state); the caches after, each failure said with the file it concerns. */
function saveState(ctx: EngineContext): void {
  ctx.records.close();
  ctx.objects.save();
  try {
    ctx.stats.save();
  } catch (err) {
    if (isStorageFailure(err)) throw new StorageError(`could not save the stat cache ${path.relative(process.cwd(), path.join(ctx.project.stateDir, 'stat-cache'))}`, err);
    throw err;
  }
}

/** The outputs not inside another output of the same stage: moving one moves what is inside it. */
function outermost(outs: string[]): string[] {
  return outs.filter((out) => !outs.some((other) => other !== out && out.startsWith(other + '/')));
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
