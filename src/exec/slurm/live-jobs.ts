/**
 * For `pipe status`: the Slurm jobs of a run (this one still going, or one that was killed) that are queued
 * or running now, by stage: one squeue call for all of them, and none when the project has no such job.
 */
import { clientEnvironment, slurmClient } from './client.js';
import { activeWords, isActive } from './job-state.js';
import { JobJournal } from './journal.js';

export interface LiveJob {
  job: string;
  /** PENDING, RUNNING, ... */
  state: string;
  node?: string;
  /** "Slurm job 12 running on node-3" */
  text: string;
}

export async function liveJobs(stateDir: string): Promise<Map<string, LiveJob>> {
  const entries = new JobJournal(stateDir).list();
  const live = new Map<string, LiveJob>();
  if (entries.length === 0) return live;
  const infos = await slurmClient(clientEnvironment()).query(entries.map((e) => e.job));
  for (const info of infos) {
    const entry = entries.find((e) => e.job === info.id);
    if (!entry || !isActive(info.state)) continue;
    live.set(entry.stage, { job: info.id, state: info.state, ...(info.node ? { node: info.node } : {}), text: `Slurm job ${info.id} ${activeWords(info)}` });
  }
  return live;
}
