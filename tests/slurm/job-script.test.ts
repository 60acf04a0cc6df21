/**
 * The pieces of the Slurm executor that need no cluster: squeue's output read, ends worded, resources
 * mapped to sbatch options, and the job script run by a plain /bin/sh: values stay literal, the
 * environment is exactly the stage's, the exit status lands in its file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { endOf, endWords, parseSqueue } from '../../src/exec/slurm/job-state.js';
import { jobScript, splitEnvironment } from '../../src/exec/slurm/job-script.js';
import { sbatchArgs, slurmOptionsOf } from '../../src/exec/slurm/sbatch-args.js';
import type { StageJob } from '../../src/exec/runner.js';
import type { Pipeline, Stage } from '../../src/pipeline/types.js';

const stage = (extra: Partial<Stage> = {}): Stage => ({
  name: 'asr:en', deps: [], outs: ['out.txt'], params: {}, needs: [], env: {}, resources: { cpu: 4, gpu: 2, mem: 1.5 * 2 ** 30 },
  loc: { file: 'pipeline.yaml', line: 1, col: 1 }, ...extra,
});

describe('squeue and job ends', () => {
  test('one line per job; exit_code is a wait status (code << 8, or the signal)', () => {
    const jobs = parseSqueue('12|COMPLETED|node-1|None|0|\n13|FAILED|node-2|NonZeroExitCode|768|\n14|CANCELLED+|node-1|None|15|\n15|PENDING||Resources|0|\n');
    expect(jobs.map((j) => [j.id, j.state, j.node])).toEqual([['12', 'COMPLETED', 'node-1'], ['13', 'FAILED', 'node-2'], ['14', 'CANCELLED', 'node-1'], ['15', 'PENDING', '']]);
    expect(endOf(jobs[1]!)).toEqual({ state: 'FAILED', exitCode: 3 });
    expect(endOf(jobs[2]!)).toEqual({ state: 'CANCELLED', signal: 15, exitCode: 143 });
    expect(endWords('9', { state: 'OUT_OF_MEMORY' })).toBe('Slurm job 9 OUT_OF_MEMORY: it used more memory than it asked for (resources.mem → --mem)');
  });
});

describe('sbatch options', () => {
  test('resources map to --cpus-per-task, --mem (MiB), --gres; the stage\'s slurm: block is over the pipeline\'s', () => {
    const pipeline = { slurm: { partition: 'cpu', account: 'lab', time: 60, extra: ['--nice=10'] } } as unknown as Pipeline;
    const s = stage({ slurm: { partition: 'gpu', extra: ['--exclusive'] } });
    expect(sbatchArgs(s, slurmOptionsOf(pipeline, s), { run: 'r1', root: '/p', logFile: '/p/.pipe/logs/asr:en.log' })).toEqual([
      '--job-name=pipe:r1:asr:en', '--chdir=/p', '--output=/p/.pipe/logs/asr:en.log', '--open-mode=truncate', '--export=ALL',
      '--cpus-per-task=4', '--mem=1536M', '--gres=gpu:2', '--partition=gpu', '--account=lab', '--time=60', '--nice=10', '--exclusive',
    ]);
  });
});

describe('the job script, run by /bin/sh', () => {
  test('sets exactly the stage environment (values literal, secrets not written), runs the command, leaves its exit status', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-job-script-'));
    try {
      const env = { PATH: process.env.PATH!, QUOTED: "it's $(touch pwned) `x` \"y\"", MULTI: 'a\nb', HF_TOKEN: 'hf_secret' };
      const job = { stage: stage(), key: 'k', cmd: 'env > env.txt; exit 4', cwd: dir, env, logFile: path.join(dir, 'log'), signal: new AbortController().signal } as StageJob;
      const parts = splitEnvironment(env);
      const script = jobScript(job, parts, dir);
      expect(script).not.toContain('hf_secret');
      expect(parts.passed).toEqual(['HF_TOKEN']);
      writeFileSync(path.join(dir, 'job.sh'), script);
      // as slurmd starts it: its own variables, Slurm's, and the secret passed by sbatch
      let code = 0;
      try {
        execFileSync('/bin/sh', [path.join(dir, 'job.sh')], { env: { PATH: '/usr/bin:/bin', CLUSTER_DEFAULT: 'x', SLURM_JOB_ID: '77', HF_TOKEN: 'hf_secret' } });
      } catch (err) {
        code = (err as { status: number }).status;
      }
      expect(code).toBe(4);
      expect(readFileSync(path.join(dir, '77'), 'utf8')).toBe('4\n');
      const lines = readFileSync(path.join(dir, 'env.txt'), 'utf8');
      expect(lines).toContain("QUOTED=it's $(touch pwned) `x` \"y\"\n");
      expect(lines).toContain('MULTI=a\nb\n');
      expect(lines).toContain('HF_TOKEN=hf_secret\n');
      expect(lines).toContain('SLURM_JOB_ID=77\n');
      expect(lines).not.toContain('CLUSTER_DEFAULT');
      expect(readFileSync(path.join(dir, 'job.sh'), 'utf8')).toContain('pwned'); // literal in the script, never run:
      expect(() => readFileSync(path.join(dir, 'pwned'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an argv command is a program, never a builtin of the script\'s shell: [exit, 0] does not skip the status', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-job-script-'));
    try {
      const job = { stage: stage(), key: 'k', cmd: ['exit', '0'], cwd: dir, env: { PATH: '/usr/bin:/bin' }, logFile: path.join(dir, 'log'), signal: new AbortController().signal } as StageJob;
      writeFileSync(path.join(dir, 'job.sh'), jobScript(job, splitEnvironment(job.env), dir));
      let code = 0;
      try {
        execFileSync('/bin/sh', [path.join(dir, 'job.sh')], { env: { PATH: '/usr/bin:/bin', SLURM_JOB_ID: '78' }, stdio: 'ignore' });
      } catch (err) {
        code = (err as { status: number }).status;
      }
      expect(code).toBe(127); // not found, as a local run reports it
      expect(readFileSync(path.join(dir, '78'), 'utf8')).toBe('127\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
