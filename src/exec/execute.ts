/**
 * The builder: executes the planner's decisions (src/plan/plan.ts) in dependency order: restores or runs
 * each stage that needs it, and records what it produced. A stage is re-planned only when what it depends
 * on actually changed in this run (an upstream stage ran, or was restored). Runners (local processes,
 * fetches) do the work.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { IN_CACHE, recordOf, restoreOrRun } from '../plan/decide.js';
import { absolute, logFileOf, type EngineContext } from '../plan/context.js';
import { outputDigest, type StageInputs } from '../plan/inputs.js';
import { Planner, type StagePlan } from '../plan/plan.js';
import type { Reason, Reporter, StageState, StageStatus } from '../report/events.js';
import { errorReason, reasonText } from '../report/reason-text.js';
import type { Stage } from '../pipeline/types.js';
import type { OutputRecord, StageRecord } from '../state/records.js';
import type { RunCacheEntry } from '../state/stores.js';
import { AsideArea, type SetAside } from '../state/aside.js';
import { PipelinePools, ResourcePool } from './resources.js';
import { runFetchStage, type FetchRunContext } from './fetch-runner.js';
import { stageEnvironment } from './environment.js';
import { prepareAppCaches } from './cache-folders.js';
import { demandOf, exitWords, runnerOf, type StageJob, type StageResult, type StageRunner } from './runner.js';
import { readLogTail } from './process.js';
import { redactorFor } from '../report/redact.js';
import { ProcessRegistry } from '../state/recover.js';
import { walkGraph, type BlockedReport } from './walk.js';
import { ObjectUnavailable } from '../state/objects.js';
import { remember, saveState, storeOutputs } from './record-outputs.js';
import { KeptOutputNotes } from './kept-notes.js';

export interface ExecuteOptions {
  keepGoing: boolean;
  /** stage names to run regardless of freshness */
  force: ReadonlySet<string>;
  offline: boolean;
  /** run every command stage without network access */
  noNetwork: boolean;
  signal: AbortSignal;
  /** where commands run: built by the CLI (src/cli/build-runner.ts); its capacity bounds what runs at once */
  runner: StageRunner;
  /** `pipe pull`: restore what the caches hold for the current keys, run nothing */
  restoreOnly?: boolean;
}

export interface ExecuteResult {
  counts: Record<StageStatus, number>;
  interrupted: boolean;
  /** restoreOnly: the stages no cache could restore */
  notRestored: string[];
}

export async function execute(ctx: EngineContext, order: string[], opts: ExecuteOptions, reporter: Reporter): Promise<ExecuteResult> {
  const planner = new Planner(ctx, { force: opts.force, offline: opts.offline });
  const plans = await planner.planAll(order);
  ctx.local.objects.onNotice((text) => reporter.note(text));
  const run = new Run(ctx, planner, plans, opts, reporter);
  reporter.plan(order, false);
  try {
    await walkGraph(order, ctx.project.graph.upstream, (name) => run.visit(name), { isStopping: () => run.stopping }, (b) => run.blocked(b));
  } finally {
    run.processes.close();
    run.keptOutputs.close();
  }
  await run.aside.close();
  saveState(ctx);
  return { counts: run.counts, interrupted: opts.signal.aborted, notRestored: [...run.notRestored] };
}

/** What became of a stage in this run, for deciding whether what is downstream must be re-planned. */
type Done = 'skipped' | 'changed';

class Run {
  readonly counts: Record<StageStatus, number> = { ran: 0, skipped: 0, restored: 0, failed: 0, 'not-run': 0 };
  private failed = false;
  /** stage -> output digest, as produced or confirmed in this run */
  private readonly outputs = new Map<string, string>();
  private readonly done = new Map<string, Done>();
  /** restoreOnly: the stages the caches could not restore */
  readonly notRestored = new Set<string>();
  private readonly fetchContext: FetchRunContext;
  readonly processes: ProcessRegistry;
  readonly aside: AsideArea;
  readonly keptOutputs: KeptOutputNotes;
  /** one resource pool per concrete runner (its capacity), sharing the pipeline's pools */
  private readonly resourcePools = new Map<StageRunner, ResourcePool>();
  private readonly pipelinePools = new PipelinePools();

  constructor(
    private readonly ctx: EngineContext,
    private readonly planner: Planner,
    private readonly plans: Map<string, StagePlan>,
    private readonly opts: ExecuteOptions,
    private readonly reporter: Reporter,
  ) {
    this.fetchContext = { engine: ctx, offline: opts.offline, signal: opts.signal, reporter };
    this.processes = new ProcessRegistry(ctx.project.stateDir);
    this.aside = new AsideArea(ctx.project.stateDir);
    this.keptOutputs = new KeptOutputNotes((text) => reporter.note(text));
  }

  get stopping(): boolean {
    return this.opts.signal.aborted || (this.failed && !this.opts.keepGoing);
  }

  async visit(name: string): Promise<'ok' | 'failed'> {
    const stage = this.ctx.project.stages.get(name)!;
    const started = Date.now();
    const waiting = this.opts.restoreOnly && (this.ctx.project.graph.upstream[name] ?? []).find((u) => this.notRestored.has(u));
    if (waiting) return this.notRestoredStage(stage, [{ kind: 'upstream-not-restored', subject: waiting }], false);
    try {
      return await this.act(stage, await this.currentPlan(stage), started);
    } catch (err) {
      return this.fail(stage, started, errorText(err));
    }
  }

  blocked({ name, cause }: BlockedReport): void {
    const planned = this.plans.get(name)?.decision;
    const outside = planned?.action === 'not-run' && planned.reasons[0]?.kind === 'upstream-outside' ? planned.reasons[0] : undefined;
    const reason: Reason = this.opts.signal.aborted ? { kind: 'interrupted' } : outside ?? (cause ? { kind: 'upstream-failed', subject: cause } : { kind: 'stopped' });
    this.counts['not-run']++;
    this.reporter.finish({ type: 'stage', stage: name, status: 'not-run', ms: 0, reasons: [reason] });
  }

  /** The planned decision, unless an upstream stage changed something in this run: then a fresh one. */
  private async currentPlan(stage: Stage): Promise<StagePlan> {
    const planned = this.plans.get(stage.name)!;
    if (planned.decision.action === 'not-run') return planned; // nothing this run does can change that
    const ups = this.ctx.project.graph.upstream[stage.name] ?? [];
    const unchanged = planned.inputs !== undefined && ups.every((u) => this.done.get(u) !== 'changed' && (this.outputs.get(u) ?? planned.upstream[u]) === planned.upstream[u]);
    if (unchanged) return planned;
    return this.planner.planStage(stage, this.upstreamOutputs(stage));
  }

  private async act(stage: Stage, plan: StagePlan, started: number): Promise<'ok' | 'failed'> {
    const decision = plan.decision;
    switch (decision.action) {
      case 'fail':
        return this.fail(stage, started, decision.reasons);
      case 'not-run':
        return this.notRun(stage, decision.reasons);
      case 'skip':
        this.outputs.set(stage.name, decision.outputHash);
        this.done.set(stage.name, 'skipped');
        return this.finish(stage, 'skipped', started, decision.reasons, 'fresh');
      case 'restore': {
        const inputs = plan.inputs!;
        const { from, unavailable } = await this.restoreFromCache(stage, inputs, decision.from);
        if (unavailable) return this.runStage(stage, inputs, [...decision.reasons.filter((r) => r !== IN_CACHE), unavailable], started);
        await remember(this.ctx, recordOf(stage, inputs, from.outs, from.outputHash, Date.now() - started));
        this.outputs.set(stage.name, from.outputHash);
        this.done.set(stage.name, 'changed');
        return this.finish(stage, 'restored', started, decision.reasons, decision.state, from.from);
      }
      case 'run':
        if (decision.damaged) await this.dropDamaged(stage, decision.damaged, decision.reasons);
        return this.runStage(stage, plan.inputs!, decision.reasons, started);
    }
  }

  private async runStage(stage: Stage, inputs: StageInputs, reasons: Reason[], started: number): Promise<'ok' | 'failed'> {
    const runner = runnerOf(this.opts.runner, stage);
    const release = await this.resourcesOf(runner).acquire(demandOf(runner, stage), stage.pool);
    try {
      if (this.stopping) {
        this.blocked({ name: stage.name });
        return 'failed';
      }
      if (this.opts.restoreOnly && !stage.fetch) return this.notRestoredStage(stage, reasons);
      const began = Date.now();
      this.reporter.start(stage.name, reasons);
      if (stage.fetch) {
        const fetched = await runFetchStage(this.fetchContext, stage, inputs.key, { sharedOnly: this.opts.restoreOnly });
        if (!fetched) return this.notRestoredStage(stage, reasons);
        // the record only: a fetch stage's content is the model cache, shared as a snapshot (fetch-runner.ts), not as outputs
        this.ctx.records.record(recordOf(stage, inputs, [], fetched.outputHash, Date.now() - began));
        this.produced(stage, fetched.outputHash);
        return fetched.from ? this.finish(stage, 'restored', began, [...reasons, IN_CACHE], undefined, 'remote') : this.finish(stage, 'ran', began, reasons);
      }
      return await this.runCommand(runner, stage, inputs, reasons, began, release);
    } finally {
      release();
    }
  }

  /** restoreOnly: neither cache holds the stage's outputs for its current key; it is left as it is. */
  private notRestoredStage(stage: Stage, reasons: Reason[], own = true): 'ok' {
    this.notRestored.add(stage.name);
    this.counts['not-run']++;
    const why = own ? [...reasons.filter((r) => r.kind !== 'in-cache'), { kind: 'not-in-cache' as const }] : reasons;
    this.reporter.finish({ type: 'stage', stage: stage.name, status: 'not-run', ms: 0, reasons: why });
    return 'ok';
  }

  private resourcesOf(runner: StageRunner): ResourcePool {
    let pool = this.resourcePools.get(runner);
    if (!pool) this.resourcePools.set(runner, (pool = new ResourcePool(runner.capacity, this.pipelinePools)));
    return pool;
  }

  private produced(stage: Stage, outputHash: string): void {
    this.outputs.set(stage.name, outputHash);
    this.done.set(stage.name, 'changed');
  }

  /**
   * `release` frees the stage's resources once its process is done: checking and storing outputs is pipe's work.
   * The command starts without its outputs (unless `persist`), so its result never depends on an earlier run;
   * if it fails, the outputs it started without are put back.
   */
  private async runCommand(runner: StageRunner, stage: Stage, inputs: StageInputs, reasons: Reason[], began: number, release: () => void): Promise<'ok' | 'failed'> {
    const job = this.jobOf(stage, inputs.key);
    let setAside: SetAside[] = [];
    let adopted: StageResult | undefined;
    try {
      prepareAppCaches(this.ctx.project.pipeline);
      // a job of an earlier, killed run that did this very work: its outputs are the result, not in the way
      adopted = await runner.adopt?.(job);
      if (!adopted) setAside = stage.persist ? await this.keepOutputs(stage) : await this.clearOutputs(stage);
    } catch (err) {
      return this.fail(stage, began, errorText(err));
    }
    const progress = { recorded: false };
    try {
      const result = adopted ?? (await runner.run(job));
      release();
      await startsFirst();
      return await this.record(stage, inputs, reasons, began, job, result, setAside, progress);
    } finally {
      if (!progress.recorded && !stage.persist) await this.bringBackOutputs(stage, setAside);
    }
  }

  private jobOf(stage: Stage, key: string): StageJob {
    return {
      stage,
      key,
      cmd: stage.cmd!,
      cwd: this.ctx.project.root,
      env: stageEnvironment(this.ctx.project.pipeline, stage, this.ctx.fetchStages),
      logFile: logFileOf(this.ctx, stage),
      signal: this.opts.signal,
      noNetwork: this.opts.noNetwork || stage.network === false,
      registry: { add: (pgid) => this.processes.add(pgid, stage.name), remove: (pgid) => this.processes.remove(pgid) },
      watchOutput: this.reporter.output && ((file) => this.reporter.output!(stage.name, file)),
    };
  }

  private async record(
    stage: Stage, inputs: StageInputs, reasons: Reason[], began: number, job: StageJob, result: StageResult,
    setAside: SetAside[], progress: { recorded: boolean },
  ): Promise<'ok' | 'failed'> {
    const logFile = job.logFile;
    redactorFor(this.ctx.project.root).file(logFile); // the stage may have printed a token from its environment
    const log = path.relative(process.cwd(), logFile) || logFile;
    const jobId = result.jobId ? { job: result.jobId } : {};
    if (result.interrupted) return this.fail(stage, began, 'interrupted', { log, ...jobId });
    if (result.spawnError) return this.fail(stage, began, `could not start: ${result.spawnError}`, { log, ...jobId });
    if (result.endState || result.exitCode !== 0) {
      const how = result.endState ?? exitWords(result);
      const note = job.noNetwork ? ' — it ran without network access (--no-network / network: false); a download attempt fails like this' : '';
      return this.fail(stage, began, `command failed (${how})${note}`, { log, tail: result.tail, ...jobId });
    }
    const unwritten = this.unwrittenOutputs(stage);
    if (unwritten.length) return this.fail(stage, began, `exited 0 but did not write ${unwritten.join(', ')}`, { log, tail: readLogTail(logFile) });
    const outs = await storeOutputs(this.ctx, stage);
    const outputHash = outputDigest(outs);
    this.aside.markDone(setAside);
    await remember(this.ctx, recordOf(stage, inputs, outs, outputHash, Date.now() - began));
    progress.recorded = true;
    this.produced(stage, outputHash);
    this.dropSetAside(setAside);
    return this.finish(stage, 'ran', began, reasons, undefined, undefined, result.jobId);
  }

  /**
   * `persist: true`: the outputs stay where they are; only their folders are made. A file that is a hardlink into
   * the cache (`cache.link: hardlink`) gets a writable copy of its own first: the stage may write into it.
   */
  private async keepOutputs(stage: Stage): Promise<SetAside[]> {
    const recorded = this.ctx.records.stage(stage.name)?.outs ?? [];
    for (const out of stage.outs) {
      const abs = absolute(this.ctx, out);
      this.ctx.stats.invalidate(abs);
      this.ensureDir(path.dirname(abs));
      const rec = recorded.find((o) => o.path === out);
      if (rec) await this.ctx.local.objects.detach(rec, abs);
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
        if (!lstatSync(abs, { throwIfNoEntry: false })) continue;
        // an output holding an object on loan goes into the store (a rename): out of the way, and kept
        if (await this.ctx.local.objects.takeLent(abs)) continue;
        setAside.push(this.aside.moveAway(out, abs, await this.holdsRecorded(stage, out, abs)));
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
    return now.kind === recorded.kind && now.hash === recorded.hash && (await this.ctx.objects.has(recorded));
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
    if (recorded && recorded.kind !== 'missing' && (await this.ctx.objects.has(recorded))) await this.ctx.objects.restore(recorded, abs);
  }

  /** The stage succeeded: its earlier outputs go, except those the cache does not hold, which are kept (and said so). */
  private dropSetAside(setAside: SetAside[]): void {
    if (setAside.length === 0) return;
    try {
      for (const { out, kept } of this.aside.drop(setAside)) this.keptOutputs.add(out, kept);
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

  private async dropDamaged(stage: Stage, out: OutputRecord, reasons: Reason[]): Promise<void> {
    await this.ctx.objects.dropDamaged(out);
    this.reporter.note(`pipe: ${stage.name}: ${reasonText(reasons[reasons.length - 1]!)}`);
  }

  /**
   * Restores the outputs `from` names. When one is found damaged as it is read (and dropped), the caches are
   * asked once more: another layer (the team cache) may still hold it. Returns what was restored, or why not.
   */
  private async restoreFromCache(stage: Stage, inputs: StageInputs, from: RunCacheEntry): Promise<{ from: RunCacheEntry; unavailable?: Reason }> {
    const failed = await this.restore(stage, from.outs);
    if (!failed?.damaged) return { from, unavailable: failed?.reason };
    const again = await restoreOrRun(this.ctx, inputs, 'stale', []);
    if (again.action !== 'restore') return { from, unavailable: failed.reason };
    return { from: again.from, unavailable: (await this.restore(stage, again.from.outs))?.reason };
  }

  /**
   * Puts the recorded outputs back from the cache. When one of them is not there, or is damaged (then
   * the store has dropped it), says so and returns the reason: the stage runs instead.
   */
  private async restore(stage: Stage, outs: OutputRecord[]): Promise<{ reason: Reason; damaged: boolean } | undefined> {
    const stray = undeclaredOutputs(stage, outs);
    if (stray) return { reason: stray, damaged: false };
    for (const out of outs) {
      const abs = absolute(this.ctx, out.path);
      try {
        await this.ctx.objects.restore(out, abs, out.path);
      } catch (err) {
        if (!(err instanceof ObjectUnavailable)) throw err;
        const reason: Reason = { kind: 'cache-unusable', subject: out.path, detail: `${err.detail}${err.damaged ? ': dropped it' : ''}` };
        this.reporter.note(`pipe: ${stage.name}: ${reasonText(reason)}`);
        return { reason, damaged: err.damaged };
      }
      if (out.kind === 'file') this.ctx.stats.vouchFile(abs, out.hash); // restored from a verified object: no need to read it again
      else await this.ctx.stats.hash(abs);
    }
    return undefined;
  }

  /** What each upstream stage produced or confirmed in this run (a stage outside the run: its record). */
  private upstreamOutputs(stage: Stage): Record<string, string> {
    const result: Record<string, string> = Object.create(null); // a stage may be named __proto__
    for (const u of this.ctx.project.graph.upstream[stage.name] ?? []) {
      const hash = this.outputs.get(u) ?? this.ctx.records.stage(u)?.outputHash;
      if (hash !== undefined) result[u] = hash;
    }
    return result;
  }

  private finish(stage: Stage, status: StageStatus, started: number, reasons: Reason[], state?: StageState, from?: 'remote', job?: string): 'ok' {
    this.counts[status]++;
    this.reporter.finish({ type: 'stage', stage: stage.name, status, ms: Date.now() - started, reasons, ...(state ? { state } : {}), ...(from ? { from } : {}), ...(job ? { job } : {}) });
    return 'ok';
  }

  /** Planned not to run (an upstream stage outside the selection has never run): nothing downstream of it runs either. */
  private notRun(stage: Stage, reasons: Reason[]): 'failed' {
    this.failed = true;
    this.counts['not-run']++;
    this.reporter.finish({ type: 'stage', stage: stage.name, status: 'not-run', ms: 0, reasons });
    return 'failed';
  }

  private fail(stage: Stage, started: number, why: string | Reason[], extra: { log?: string; tail?: string[]; job?: string } = {}): 'failed' {
    this.failed = true;
    this.counts.failed++;
    const reasons = typeof why === 'string' ? [errorReason(why)] : why;
    this.reporter.finish({ type: 'stage', stage: stage.name, status: 'failed', ms: Date.now() - started, reasons, ...extra });
    return 'failed';
  }
}

/**
 * Lets a stage that was waiting for the slot just freed reach its runner before this one's outputs are hashed,
 * stored and recorded, which is synchronous work enough to keep a core idle meanwhile (a 5,000-stage run at
 * -j2: 5.6 s before, 5.3 s after).
 */
function startsFirst(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The outputs not inside another output of the same stage: moving one moves what is inside it. */
function outermost(outs: string[]): string[] {
  return outs.filter((out) => !outs.some((other) => other !== out && out.startsWith(other + '/')));
}

/** A cache entry naming an output the stage does not declare (a tampered team-cache record) is never restored. */
function undeclaredOutputs(stage: Stage, outs: OutputRecord[]): Reason | undefined {
  const stray = outs.find((o) => !stage.outs.includes(o.path));
  return stray ? { kind: 'cache-unusable', subject: stray.path, detail: 'is not an output the stage declares' } : undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
