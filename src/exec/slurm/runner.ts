/**
 * The Slurm runner: each command stage becomes one batch job. It submits (sbatch), watches every job of the
 * run with one squeue per poll (poll.ts), resubmits a job lost to NODE_FAIL/PREEMPTED up to `retries` times,
 * waits for outputs a shared filesystem shows late, and on Ctrl-C cancels every job with one scancel and
 * waits until Slurm has stopped them. Outputs are hashed by the builder on this machine once a job ends.
 */
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Pipeline, Resources, Stage } from '../../pipeline/types.js';
import { readLogTail, signalNameOf } from '../process.js';
import type { StageJob, StageResult, StageRunner } from '../runner.js';
import { SlurmError, type SlurmClient } from './client.js';
import { activeWords, endWords, isActive, isCommandExit, RETRYABLE, succeeded, type JobEnd, type JobInfo } from './job-state.js';
import { jobScript, splitEnvironment } from './job-script.js';
import { JobJournal } from './journal.js';
import { JobWatcher } from './poll.js';
import { DEFAULT_LATENCY_WAIT_S, sbatchArgs, slurmOptionsOf } from './sbatch-args.js';

/** What the runner tells the user while a job is queued or running. */
export interface SlurmEvents {
  job(stage: string, job: string, state: string, text: string, node?: string): void;
  note(text: string): void;
}

export interface SlurmRunnerOptions {
  pipeline: Pipeline;
  stateDir: string;
  /** at most this many jobs queued or running at once (-j) */
  jobs: number;
  client: SlurmClient;
  events: SlurmEvents;
}

interface Orphan {
  job: string;
  key: string;
  end: JobEnd;
}

const CANCEL_WAIT_MS = 30_000;

export class SlurmRunner implements StageRunner {
  readonly name = 'slurm';
  readonly capacity: Resources;
  /** this run's id, in every job name: pipe:<run>:<stage> */
  readonly run_id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly journal: JobJournal;
  private readonly watcher: JobWatcher;
  private readonly scriptDir: string;
  private readonly statusDir: string;
  /** stage -> the job of an earlier, killed run, ended since */
  private readonly orphans = new Map<string, Orphan>();
  private readonly toCancel = new Set<string>();
  private readonly stageOfJob = new Map<string, string>();

  constructor(private readonly opts: SlurmRunnerOptions) {
    this.capacity = { cpu: opts.jobs, gpu: 0, mem: 0 };
    this.journal = new JobJournal(opts.stateDir);
    this.scriptDir = path.join(opts.stateDir, 'slurm', 'scripts');
    this.statusDir = path.join(opts.stateDir, 'slurm', 'status');
    this.watcher = new JobWatcher(opts.client, this.statusDir, (id, info) => this.stateChanged(id, info), (text) => opts.events.note(`pipe: slurm: ${text}`));
  }

  /** One slot of -j per job, whatever the stage asks of the node: Slurm places it. */
  demand(): Resources {
    return { cpu: 1, gpu: 0, mem: 0 };
  }

  /**
   * Before anything is planned: the jobs an earlier `pipe run` submitted and never saw end (it was killed).
   * Waits for those still queued or running (or cancels them), so no stage ever has two jobs at once.
   */
  async recoverOrphans(cancel: boolean, signal?: AbortSignal): Promise<void> {
    const entries = this.journal.list();
    if (entries.length === 0) return;
    const known = await this.opts.client.query(entries.map((e) => e.job));
    const active = entries.filter((e) => known.some((k) => k.id === e.job && isActive(k.state)));
    if (active.length) {
      const list = active.map((e) => `${e.stage} (job ${e.job})`).join(', ');
      if (cancel) {
        this.opts.events.note(`pipe: cancelling ${active.length} Slurm job(s) of an earlier pipe run that was stopped: ${list}`);
        await this.opts.client.cancel(active.map((e) => e.job));
      } else {
        this.opts.events.note(`pipe: waiting for ${active.length} Slurm job(s) of an earlier pipe run that was stopped: ${list} (--cancel-orphans cancels them)`);
      }
    }
    for (const e of entries) this.stageOfJob.set(e.job, e.stage);
    const waited = Promise.all(entries.map((e) => this.watcher.watch(e.job)));
    // Ctrl-C while waiting: the jobs stay as they are, and so do their entries, for the next run
    const ends = signal ? await Promise.race([waited, aborted(signal)]) : await waited;
    if (!ends) return;
    entries.forEach((e, i) => {
      if (!cancel) this.orphans.set(e.stage, { job: e.job, key: e.key, end: ends[i]! });
      this.forget(e.job);
    });
  }

  async adopt(job: StageJob): Promise<StageResult | undefined> {
    const orphan = this.orphans.get(job.stage.name);
    this.orphans.delete(job.stage.name);
    if (!orphan || orphan.key !== job.key || !succeeded(orphan.end)) return undefined;
    this.opts.events.note(`pipe: ${job.stage.name}: Slurm job ${orphan.job} of the earlier run did this work and ended COMPLETED: recording its outputs`);
    return this.resultOf(orphan.job, orphan.end, job);
  }

  async run(job: StageJob): Promise<StageResult> {
    const retries = job.stage.retries ?? this.opts.pipeline.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      let id: string;
      try {
        id = await this.submit(job);
      } catch (err) {
        if (!(err instanceof SlurmError)) throw err;
        return { interrupted: job.signal.aborted, tail: [], spawnError: err.message };
      }
      const end = await this.waitFor(id, job);
      this.forget(id);
      if (job.signal.aborted) return { interrupted: true, tail: [], jobId: id };
      if (RETRYABLE.has(end.state) && attempt < retries) {
        this.opts.events.note(`pipe: ${job.stage.name}: ${endWords(id, end)}; submitting it again (retry ${attempt + 1} of ${retries})`);
        continue;
      }
      return this.resultOf(id, end, job);
    }
  }

  /** The job has ended and its end is known: nothing of it is left to find. */
  private forget(id: string): void {
    this.journal.remove(id);
    rmSync(path.join(this.statusDir, id), { force: true });
  }

  async close(): Promise<void> {
    this.watcher.close();
  }

  private async submit(job: StageJob): Promise<string> {
    if (job.signal.aborted) throw new SlurmError('interrupted before it was submitted');
    const { stage } = job;
    const parts = splitEnvironment(job.env);
    mkdirSync(this.scriptDir, { recursive: true });
    mkdirSync(this.statusDir, { recursive: true });
    mkdirSync(path.dirname(job.logFile), { recursive: true });
    const script = path.join(this.scriptDir, `${fileNameOf(stage.name)}.sh`);
    writeFileSync(script, jobScript(job, parts, this.statusDir), { mode: 0o700 });
    const args = sbatchArgs(stage, slurmOptionsOf(this.opts.pipeline, stage), { run: this.run_id, root: job.cwd, logFile: job.logFile });
    const passed = Object.fromEntries(parts.passed.map((k) => [k, job.env[k]!]));
    const id = await this.opts.client.submit(args, script, passed);
    this.journal.add({ job: id, stage: stage.name, key: job.key, run: this.run_id });
    this.stageOfJob.set(id, stage.name);
    this.opts.events.job(stage.name, id, 'SUBMITTED', `Slurm job ${id} submitted`);
    return id;
  }

  /** The job's end; on Ctrl-C it is cancelled (one scancel for every job) and waited for, within a bound. */
  private async waitFor(id: string, job: StageJob): Promise<JobEnd> {
    const unwatch = job.watchOutput?.(job.logFile);
    const ended = this.watcher.watch(id);
    const onAbort = () => this.cancelSoon(id);
    if (job.signal.aborted) onAbort();
    else job.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (!job.signal.aborted) {
        const end = await Promise.race([ended, aborted(job.signal)]);
        if (end) return end;
      }
      return (await Promise.race([ended, delay(CANCEL_WAIT_MS, { unref: true })])) ?? { state: 'CANCELLED' };
    } finally {
      job.signal.removeEventListener('abort', onAbort);
      unwatch?.();
    }
  }

  /** Cancels arriving in the same tick go out as one scancel. */
  private cancelSoon(id: string): void {
    this.toCancel.add(id);
    if (this.toCancel.size > 1) return;
    queueMicrotask(() => {
      const ids = [...this.toCancel];
      this.toCancel.clear();
      this.opts.client.cancel(ids).catch((err) => this.opts.events.note(`pipe: slurm: could not cancel job(s) ${ids.join(', ')}: ${(err as Error).message}`));
      this.watcher.hurry();
    });
  }

  private async resultOf(id: string, end: JobEnd, job: StageJob): Promise<StageResult> {
    if (succeeded(end)) {
      await this.waitForOutputs(job);
      return { exitCode: 0, interrupted: false, tail: [], jobId: id };
    }
    const tail = readLogTail(job.logFile);
    if (isCommandExit(end) && end.exitCode !== undefined) {
      const signal = end.exitCode > 128 ? signalNameOf(end.exitCode - 128) : undefined;
      return { exitCode: end.exitCode, signal, interrupted: false, tail, jobId: id };
    }
    return { exitCode: end.exitCode, interrupted: false, tail, jobId: id, endState: endWords(id, end) };
  }

  /** Outputs a networked filesystem shows late: waited for up to `latency_wait` seconds (the builder then names what is missing). */
  private async waitForOutputs(job: StageJob): Promise<void> {
    const seconds = job.stage.slurm?.latency_wait ?? this.opts.pipeline.slurm?.latency_wait ?? DEFAULT_LATENCY_WAIT_S;
    const deadline = Date.now() + seconds * 1000;
    const missing = () => job.stage.outs.filter((o) => !existsSync(path.join(job.cwd, o)));
    while (missing().length && Date.now() < deadline) await delay(100);
  }

  private stateChanged(id: string, info: JobInfo): void {
    const stage = this.stageOfJob.get(id);
    if (stage) this.opts.events.job(stage, id, info.state, `Slurm job ${id} ${activeWords(info)}`, info.node || undefined);
  }
}

/** A stage name as a file name: readable, and distinct for distinct names. */
function fileNameOf(stage: string): string {
  const readable = stage.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(stage).digest('hex').slice(0, 8)}`;
}

/** `unref`: a bound that must not keep pipe alive once everything else is done. */
function delay(ms: number, opts: { unref?: boolean } = {}): Promise<undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    if (opts.unref) timer.unref();
  });
}

function aborted(signal: AbortSignal): Promise<undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
}

export type { Stage };
