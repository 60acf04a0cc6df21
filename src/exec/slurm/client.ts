/**
 * The Slurm client programs pipe calls, always with argument lists (never a shell string): sbatch to
 * submit, one squeue for the state of every job of the run, one scancel for all jobs to stop.
 */
import { execa } from 'execa';
import { EXIT, UserError } from '../../util/errors.js';
import { parseSqueue, SQUEUE_FORMAT, type JobInfo } from './job-state.js';

/** A Slurm client program failed or is missing: said in its own words, never as a stack trace. */
export class SlurmError extends UserError {
  constructor(message: string) {
    super(message, EXIT.stageFailed);
  }
}

export interface SlurmClient {
  submit(args: string[], script: string): Promise<string>;
  /** the jobs among `ids` that Slurm still knows (queued, running, or ended less than MinJobAge ago) */
  query(ids: string[]): Promise<JobInfo[]>;
  cancel(ids: string[]): Promise<void>;
}

export function slurmClient(env: NodeJS.ProcessEnv = process.env): SlurmClient {
  const run = async (program: string, args: string[]) => {
    try {
      return await execa(program, args, { env, extendEnv: false, stdin: 'ignore', timeout: 60_000 });
    } catch (err) {
      const e = err as { code?: string; stderr?: string; shortMessage?: string };
      if (e.code === 'ENOENT') throw new SlurmError(`'${program}' was not found: --executor slurm needs the Slurm client programs on PATH (on the login node)`);
      throw new SlurmError(`${program} failed: ${(e.stderr || e.shortMessage || String(err)).trim().split('\n').slice(-3).join(' / ')}`);
    }
  };
  return {
    async submit(args, script) {
      const { stdout } = await run('sbatch', ['--parsable', ...args, script]);
      const id = stdout.trim().split(';')[0]!; // "id" or "id;cluster"
      if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed '${stdout.trim()}' instead of a job id`);
      return id;
    },
    async query(ids) {
      if (ids.length === 0) return [];
      try {
        const { stdout } = await run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-O', SQUEUE_FORMAT]);
        return parseSqueue(stdout);
      } catch (err) {
        // every id is unknown to slurmctld now (ended longer than MinJobAge ago): squeue says so and fails
        if (err instanceof SlurmError && /Invalid job id/i.test(err.message)) return [];
        throw err;
      }
    },
    async cancel(ids) {
      if (ids.length) await run('scancel', ids);
    },
  };
}
