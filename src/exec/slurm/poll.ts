/**
 * Watches every job of the run. A job's script leaves its exit status in a file when its command ends
 * (job-script.ts): that folder is read every 100 ms, no Slurm call, so a short job is seen ending at once.
 * Slurm itself is asked with one `squeue` for all jobs per poll, never one per job, for what no file
 * tells: pending or running and where, and ends that leave no status (cancelled, timed out, out of memory,
 * node failure). That poll starts at half a second and slows down to every 5 s while the run goes on;
 * a cancel or a failed command hurries it. A job that Slurm no longer lists (no accounting, ended more than
 * MinJobAge ago) and that left no status file has vanished.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { endOf, isActive, type JobEnd, type JobInfo } from './job-state.js';
import type { SlurmClient } from './client.js';

export const STATUS_FILE_MS = 100;
export const POLL_MIN_MS = 500;
export const POLL_MAX_MS = 5000;
const GROWTH = 1.5;
/** polls a job may be missing from squeue, without a status file, before it counts as vanished */
const MISSING_POLLS = 3;

interface Watched {
  resolve: (end: JobEnd) => void;
  last?: string;
  missing: number;
  /** the command's exit status from the file, when non-zero: squeue is asked how the job ended */
  failedWith?: number;
}

export class JobWatcher {
  private readonly jobs = new Map<string, Watched>();
  private pollTimer: NodeJS.Timeout | undefined;
  private fileTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private interval = POLL_MIN_MS;
  private failing = false;
  /** how many squeue calls were made (for the benchmark and the tests) */
  polls = 0;

  constructor(
    private readonly client: SlurmClient,
    private readonly statusDir: string,
    private readonly onState: (id: string, info: JobInfo) => void,
    private readonly onTrouble: (text: string) => void,
  ) {}

  /** Resolves once the job has ended (or Slurm lost it). */
  watch(id: string): Promise<JobEnd> {
    return new Promise((resolve) => {
      this.jobs.set(id, { resolve, missing: 0 });
      this.schedule();
    });
  }

  /** Ask Slurm soon: something just changed (a cancel sent, a command failed). */
  hurry(): void {
    this.interval = POLL_MIN_MS;
    if (this.pollTimer && !this.polling) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
    this.schedule();
  }

  close(): void {
    clearTimeout(this.pollTimer);
    clearTimeout(this.fileTimer);
    this.pollTimer = this.fileTimer = undefined;
  }

  private schedule(): void {
    if (this.jobs.size === 0) return;
    this.fileTimer ??= setTimeout(() => this.readStatusFiles(), STATUS_FILE_MS);
    if (!this.pollTimer && !this.polling) this.pollTimer = setTimeout(() => void this.poll(), this.interval);
  }

  private readStatusFiles(): void {
    this.fileTimer = undefined;
    let names: string[] = [];
    try {
      names = readdirSync(this.statusDir);
    } catch {
      /* no job has ended yet */
    }
    let failed = false;
    for (const id of names) {
      const w = this.jobs.get(id);
      if (!w || w.failedWith !== undefined) continue;
      const code = readExitStatus(this.statusDir, id);
      if (code === undefined) continue;
      if (code === 0) this.end(id, { state: 'COMPLETED', exitCode: 0 });
      else {
        w.failedWith = code;
        failed = true;
      }
    }
    if (failed) this.hurry();
    this.schedule();
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    this.polling = true;
    try {
      const ids = [...this.jobs.keys()];
      this.polls++;
      const infos = new Map((await this.client.query(ids)).map((i) => [i.id, i]));
      if (this.failing) this.onTrouble('squeue answers again');
      this.failing = false;
      for (const id of ids) this.update(id, infos.get(id));
    } catch (err) {
      if (!this.failing) this.onTrouble(`${(err as Error).message}; trying again`);
      this.failing = true;
    } finally {
      this.polling = false;
    }
    this.interval = Math.min(POLL_MAX_MS, this.interval * GROWTH);
    this.schedule();
  }

  private update(id: string, info: JobInfo | undefined): void {
    const w = this.jobs.get(id);
    if (!w) return;
    if (info && isActive(info.state)) {
      const seen = `${info.state} ${info.node} ${info.reason}`;
      if (seen !== w.last) this.onState(id, info);
      w.last = seen;
      return;
    }
    const end = info ? endOf(info) : this.fromStatusFile(id, w);
    if (end) this.end(id, end);
  }

  private end(id: string, end: JobEnd): void {
    const w = this.jobs.get(id);
    this.jobs.delete(id);
    w?.resolve(end);
  }

  private fromStatusFile(id: string, w: Watched): JobEnd | undefined {
    const code = w.failedWith ?? readExitStatus(this.statusDir, id);
    if (code !== undefined) return code === 0 ? { state: 'COMPLETED', exitCode: 0 } : { state: 'FAILED', exitCode: code };
    return ++w.missing >= MISSING_POLLS ? { state: 'VANISHED' } : undefined;
  }
}

export function readExitStatus(statusDir: string, id: string): number | undefined {
  try {
    const text = readFileSync(path.join(statusDir, id), 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
