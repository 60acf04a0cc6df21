/**
 * The Slurm jobs a run has submitted and not yet seen end, one file each under .pipe/slurm/jobs/. A `pipe
 * run` that is killed leaves its entries behind: the next run finds those jobs (still queued or running, or
 * ended since) and waits for them or cancels them, so a stage never has two jobs at once, and a job that
 * finished the very work asked for is recorded instead of run again.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';

export interface JournalEntry {
  job: string;
  stage: string;
  /** the stage's key when submitted: the same key is the same work */
  key: string;
  run: string;
  owner: number;
  host: string;
  submitted: string;
}

export class JobJournal {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'slurm', 'jobs');
  }

  add(entry: Omit<JournalEntry, 'owner' | 'host' | 'submitted'>): void {
    mkdirSync(this.dir, { recursive: true });
    const full: JournalEntry = { ...entry, owner: process.pid, host: hostname(), submitted: new Date().toISOString() };
    const file = path.join(this.dir, `${entry.job}.json`);
    writeFileAtomic(file, JSON.stringify(full));
  }

  remove(job: string): void {
    rmSync(path.join(this.dir, `${job}.json`), { force: true });
  }

  list(): JournalEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const entries: JournalEntry[] = [];
    for (const name of names) {
      if (!/^\d+\.json$/.test(name)) continue;
      try {
        const entry = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as JournalEntry;
        if (typeof entry.job === 'string' && typeof entry.stage === 'string') entries.push(entry);
      } catch {
        /* unreadable: not ours to act on */
      }
    }
    return entries;
  }
}
