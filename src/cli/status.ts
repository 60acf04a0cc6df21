/** pipe status: fresh, stale (with reasons), never-run, missing-outputs; with --remote-cache, what the team cache would restore. */
import type { PartOfGraph } from '../graph/select.js';
import { paint } from '../report/format.js';
import { openTeamCache } from '../remote/open.js';
import type { GlobalOptions } from './options.js';
import { openWithShorthands, selectStages } from './session.js';
import { stageStates, type DisplayState } from './states.js';
import { liveJobs, type LiveJob } from '../exec/slurm/live-jobs.js';

/** The stages' Slurm jobs queued or running now; a cluster that cannot be asked is said, not fatal. */
async function slurmJobs(stateDir: string): Promise<Map<string, LiveJob>> {
  try {
    return await liveJobs(stateDir);
  } catch (err) {
    process.stderr.write(`pipe: could not ask Slurm about this project's jobs: ${(err as Error).message}\n`);
    return new Map();
  }
}

export async function statusCommand(targets: string[], opts: { set: string[]; remoteCache?: string } & PartOfGraph, globals: GlobalOptions): Promise<void> {
  const { project, targets: chosen } = await openWithShorthands(globals, opts.set, targets);
  targets = chosen;
  const warnings: string[] = [];
  const remote = opts.remoteCache
    ? openTeamCache(project, { remoteCache: opts.remoteCache, remoteCacheReadOnly: true }, { note: (t) => warnings.push(t), progress: () => undefined })
    : undefined;
  const states = await stageStates(project, selectStages(project, targets, opts), remote?.layer);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  const jobs = await slurmJobs(project.stateDir);
  if (globals.json) {
    process.stdout.write(JSON.stringify({ stages: states.map((s) => (jobs.has(s.name) ? { ...s, slurm: jobs.get(s.name) } : s)) }) + '\n');
    return;
  }
  const p = paint(globals.color && process.stdout.isTTY === true);
  const colour: Record<DisplayState, (t: string) => string> = { fresh: p.green, stale: p.yellow, 'never-run': p.yellow, 'missing-outputs': p.yellow, failed: p.red };
  const width = Math.min(48, Math.max(...states.map((s) => s.name.length), 4));
  const lines = states
    .filter((s) => !globals.quiet || s.state !== 'fresh')
    .map((s) => {
      const why = s.state === 'fresh' ? '' : [...s.reasons, ...(s.teamCache ? ['the team cache would restore it'] : [])].join('; ');
      const job = jobs.has(s.name) ? `  [${jobs.get(s.name)!.text}]` : '';
      return `${s.name.padEnd(width)}  ${colour[s.state](s.state.padEnd(15))}  ${why}${job}`.trimEnd();
    });
  const stale = states.filter((s) => s.state !== 'fresh').length;
  const shared = states.filter((s) => s.teamCache).length;
  const team = remote?.team();
  const fromTeam = team ? ` (${shared} of them the team cache ${team.stats.url} would restore)` : '';
  lines.push(stale ? `${stale} of ${states.length} stage(s) would run${fromTeam}` : `all ${states.length} stage(s) up to date`);
  process.stdout.write(lines.join('\n') + '\n');
}
