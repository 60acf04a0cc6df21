/**
 * Watches every job of the run with one `squeue` call per poll, never one per job. The interval adapts:
 * short right after a job was submitted or ended (short jobs are seen ending at once), growing while
 * nothing changes (long jobs cost the controller little). A job that Slurm no longer lists (no accounting,
 * ended more than MinJobAge ago) is read from the exit-status file its script left.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { endOf, isActive, type JobEnd, type JobInfo } from './job-state.js';
import type { SlurmClient } from './client.js';

export const POLL_MIN_MS = 100;
export const POLL_MAX_MS = 5000;
const GROWTH = 1.5;
/** polls a job may be missing from squeue, without a status file, before it counts as vanished */
const MISSING_POLLS = 5;

interface Watched {
  resolve: (end: JobEnd) => void;
  last?: string;
  missing: number;
}

export class JobWatcher {
  private readonly jobs = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private interval = POLL_MIN_MS;
  private failing = false;

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
      this.hurry();
    });
  }

  /** Poll soon: something just changed (a job submitted, a cancel sent). */
  hurry(): void {
    this.interval = POLL_MIN_MS;
    if (this.timer && !this.polling) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.polling || this.jobs.size === 0) return;
    this.timer = setTimeout(() => void this.poll(), this.interval);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    let changed = false;
    try {
      const ids = [...this.jobs.keys()];
      const infos = new Map((await this.client.query(ids)).map((i) => [i.id, i]));
      if (this.failing) this.onTrouble('squeue answers again');
      this.failing = false;
      for (const id of ids) changed = this.update(id, infos.get(id)) || changed;
    } catch (err) {
      if (!this.failing) this.onTrouble(`${(err as Error).message}; trying again`);
      this.failing = true;
    } finally {
      this.polling = false;
    }
    this.interval = changed ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.interval * GROWTH);
    this.schedule();
  }

  /** True when the job's state changed. */
  private update(id: string, info: JobInfo | undefined): boolean {
    const w = this.jobs.get(id);
    if (!w) return false;
    if (info && isActive(info.state)) {
      const seen = `${info.state} ${info.node} ${info.reason}`;
      if (seen === w.last) return false;
      w.last = seen;
      this.onState(id, info);
      return true;
    }
    const end = info ? endOf(info) : this.fromStatusFile(id, w);
    if (!end) return false;
    this.jobs.delete(id);
    w.resolve(end);
    return true;
  }

  private fromStatusFile(id: string, w: Watched): JobEnd | undefined {
    const code = readExitStatus(this.statusDir, id);
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
