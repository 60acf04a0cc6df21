/**
 * The builder: walks the selected stages in dependency order, asks the planner whether each one is fresh,
 * restores or runs it, and records what it produced. Runners (local processes, fetches) do the work.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { decide, recordOf, type Decision, type StageState } from '../plan/decide.js';
import { absolute, logFileOf, type EngineContext } from '../plan/context.js';
import { outputDigest, stageInputs, type StageInputs } from '../plan/inputs.js';
import type { Reporter, StageStatus } from '../report/events.js';
import type { Stage } from '../spec/types.js';
import type { OutputRecord } from '../state/records.js';
import { ResourcePool } from './resources.js';
import { runFetchStage, fetchDecision, type FetchRunContext } from './fetch-runner.js';
import { baseEnvironment, stageEnvironment } from './environment.js';
import { ShellPool } from './shell-pool.js';
import { localRunner, type StageRunner } from './runner.js';
import { readLogTail } from './process.js';
import { ProcessRegistry } from '../state/recover.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { walkGraph, type BlockedReport } from './walk.js';

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
  ctx.stats.save();
  ctx.records.close();
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

  constructor(private readonly ctx: EngineContext, private readonly opts: ExecuteOptions, private readonly reporter: Reporter) {
    this.fetchContext = { engine: ctx, offline: opts.offline, signal: opts.signal, reporter };
    this.processes = new ProcessRegistry(ctx.project.stateDir);
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
    if (decision.action === 'restore') {
      await this.restore(decision.from.outs);
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
    const release = await this.opts.resources.acquire(stage.resources);
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

  /** `release` frees the stage's resources once its process is done: checking and storing outputs is pipe's work. */
  private async runCommand(stage: Stage, inputs: StageInputs, reasons: string[], began: number, release: () => void): Promise<'ok' | 'failed'> {
    const before = this.prepareOutputs(stage);
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
    const log = path.relative(process.cwd(), logFile) || logFile;
    const isolated = this.opts.noNetwork || stage.network === false;
    if (result.interrupted) return this.fail(stage, began, 'interrupted', { log });
    if (result.spawnError) return this.fail(stage, began, `could not start: ${result.spawnError}`, { log });
    if (result.exitCode !== 0) {
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      const note = isolated ? ' — it ran without network access (--no-network / network: false); a download attempt fails like this' : '';
      return this.fail(stage, began, `command failed (${how})${note}`, { log, tail: result.tail });
    }
    const unwritten = this.unwrittenOutputs(stage, before);
    if (unwritten.length) return this.fail(stage, began, `exited 0 but did not write ${unwritten.join(', ')}`, { log, tail: readLogTail(logFile) });
    const outs = await this.storeOutputs(stage);
    const outputHash = outputDigest(outs);
    this.ctx.records.record(recordOf(stage, inputs, outs, outputHash, Date.now() - began));
    this.outputs.set(stage.name, outputHash);
    return this.finish(stage, 'ran', began, reasons.join('; '));
  }

  /** Creates the parent folders of the outputs and remembers their stat, to catch a stage that writes nothing. */
  private prepareOutputs(stage: Stage): Map<string, string | undefined> {
    const before = new Map<string, string | undefined>();
    for (const out of stage.outs) {
      const abs = absolute(this.ctx, out);
      this.ctx.stats.invalidate(abs);
      this.ensureDir(path.dirname(abs));
      before.set(out, statSignature(abs));
    }
    return before;
  }

  private readonly knownDirs = new Set<string>();

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private unwrittenOutputs(stage: Stage, before: Map<string, string | undefined>): string[] {
    return stage.outs.filter((out) => {
      const now = statSignature(absolute(this.ctx, out));
      return now === undefined || (now === before.get(out) && !now.startsWith('dir'));
    });
  }

  private async storeOutputs(stage: Stage): Promise<OutputRecord[]> {
    const outs: OutputRecord[] = [];
    for (const out of stage.outs) {
      const abs = absolute(this.ctx, out);
      const h = await this.ctx.stats.hash(abs);
      await this.ctx.objects.put(abs, h);
      outs.push({ path: out, kind: h.kind, hash: h.hash, size: h.size, ...(h.exec ? { exec: true } : {}) });
    }
    return outs;
  }

  private async restore(outs: OutputRecord[]): Promise<void> {
    for (const out of outs) {
      const abs = absolute(this.ctx, out.path);
      await this.ctx.objects.restore(out, abs);
      await this.ctx.stats.hash(abs);
    }
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
      if (target === undefined || allowed.some((dir) => target === dir || target.startsWith(dir + path.sep))) return [];
      return [`'${p}' leads outside the project through a symlink (to ${target})`];
    });
  }

  private upstreamOutputs(stage: Stage): Record<string, string> {
    const result: Record<string, string> = {};
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

function statSignature(abs: string): string | undefined {
  const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
  if (!st) return undefined;
  return `${st.isDirectory() ? 'dir' : 'file'}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
