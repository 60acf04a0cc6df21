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
  /** `passed`: variables the job gets from sbatch's environment (secrets, never written to a file) */
  submit(args: string[], script: string, passed?: Record<string, string>): Promise<string>;
  /** the jobs among `ids` that Slurm still knows (queued, running, or ended less than MinJobAge ago) */
  query(ids: string[]): Promise<JobInfo[]>;
  cancel(ids: string[]): Promise<void>;
}

/**
 * What the client programs run with: how to reach the cluster (SLURM_CONF, the SLURM_, SBATCH_ and SQUEUE_ defaults
 * of the user) and little else. sbatch passes its environment on to the job (--export=ALL: the quick way, as
 * NONE makes slurmd load the user's login environment first); the job script then sets exactly the stage's.
 */
export function clientEnvironment(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v !== undefined && (CLIENT_VARIABLES.has(k) || /^(SLURM|SBATCH|SQUEUE|SCANCEL)_/.test(k))) env[k] = v;
  }
  return env;
}

const CLIENT_VARIABLES = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'KRB5CCNAME', 'MUNGE_SOCKET']);

export function slurmClient(env: Record<string, string> = clientEnvironment()): SlurmClient {
  const run = async (program: string, args: string[], extra: Record<string, string> = {}) => {
    try {
      return await execa(program, args, { env: { ...env, ...extra }, extendEnv: false, stdin: 'ignore', timeout: 60_000 });
    } catch (err) {
      const e = err as { code?: string; stderr?: string; shortMessage?: string };
      if (e.code === 'ENOENT') throw new SlurmError(`'${program}' was not found: --executor slurm needs the Slurm client programs on PATH (on the login node)`);
      throw new SlurmError(`${program} failed: ${(e.stderr || e.shortMessage || String(err)).trim().split('\n').slice(-3).join(' / ')}`);
    }
  };
  return {
    async submit(args, script, passed = {}) {
      const { stdout } = await run('sbatch', ['--parsable', ...args, script], passed);
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
