/**
 * The batch script of one stage, written under .pipe/slurm/scripts/. It gives the command exactly the
 * environment pipe gives the stage locally (whatever the cluster's defaults or the user's login files add,
 * only Slurm's own SLURM_* variables stay), runs it (under `unshare --net` with --no-network), and leaves its
 * exit status in a file so that its end is known even when Slurm keeps no record of finished jobs.
 * Every value is single-quoted: no shell string is built from unquoted values. Variables whose names mark
 * them as secrets are never written: sbatch passes them from its own environment.
 */
import { shellQuote } from '../../pipeline/interpolate.js';
import { isSecretName } from '../environment.js';
import type { StageJob } from '../runner.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ScriptParts {
  /** the variables written into the script */
  written: [string, string][];
  /** secret variables passed by name from sbatch's environment */
  passed: string[];
}

export function splitEnvironment(env: NodeJS.ProcessEnv): ScriptParts {
  const written: [string, string][] = [];
  const passed: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || !NAME.test(k) || k.startsWith('SLURM_')) continue;
    if (isSecretName(k)) passed.push(k);
    else written.push([k, v]);
  }
  return { written: written.sort(([a], [b]) => (a < b ? -1 : 1)), passed: passed.sort() };
}

export function jobScript(job: StageJob, parts: ScriptParts, statusDir: string): string {
  const command = typeof job.cmd === 'string' ? ['/bin/sh', '-c', job.cmd] : job.cmd;
  const words = [...(job.noNetwork ? ['unshare', '--net', '--'] : []), ...command].map(quote);
  const keep = ['SLURM_*', 'SLURMD_*', ...parts.passed].join('|');
  const status = `${quote(statusDir)}/"$SLURM_JOB_ID"`;
  return [
    '#!/bin/sh',
    `# pipe: stage ${job.stage.name.replace(/[^\x20-\x7e]/g, '?')}; written by pipe run for one Slurm job`,
    'PATH=/usr/bin:/bin',
    `for v in $(env | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p'); do case "$v" in ${keep}) ;; *) unset "$v" 2>/dev/null || true ;; esac; done`,
    `cd ${quote(job.cwd)} || exit 1`,
    'unset OLDPWD', // set by the cd; the stage's own (if any) is among the variables below
    ...parts.written.map(([k, v]) => `${k}=${quote(v)}; export ${k}`),
    // exec'd in a subshell: a program named like a builtin ([cd, /], [exit, 0]) is the program, as a local run starts it
    `( exec ${words.join(' ')} ) </dev/null`,
    'c=$?',
    `printf '%s\\n' "$c" > ${status}.tmp && mv -f ${status}.tmp ${status}`,
    'exit "$c"',
    '',
  ].join('\n');
}

/** Single quotes keep everything literally, newlines included. */
const quote = shellQuote;
