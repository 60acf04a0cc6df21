#!/usr/bin/env node
/**
 * pipe's Slurm executor against Snakemake's cluster mode on the same single-node Slurm, in one run: a
 * pipeline of 50 short jobs (10 chains of 5 stages), wall time from start to done, and the count of Slurm
 * client calls each tool made (counting shims for sbatch/squeue/sacct/scontrol/scancel first on PATH).
 * Snakemake 7 (Debian) runs as `snakemake --cluster "sbatch ..." --cluster-status <script>`: the status
 * script asks `scontrol show job` per job, as the usual Slurm profiles do without accounting.
 *   node bench/slurm.js [--chains 10] [--depth 5] [--cpus 8] [--sleep 0.2]
 * Targets: pipe >= 2x faster, >= 5x fewer status calls.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { slurmInstalled, startCluster } from './slurm-cluster.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(repo, 'bin', 'pipe.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CHAINS = arg('--chains', 10);
const DEPTH = arg('--depth', 5);
const CPUS = arg('--cpus', 8);
const SLEEP = arg('--sleep', 0.2);
const CLIENTS = ['sbatch', 'squeue', 'sacct', 'scontrol', 'scancel'];
const STATUS = new Set(['squeue', 'sacct', 'scontrol']);

if (!slurmInstalled()) {
  console.error('bench/slurm.js needs Slurm and munge (apt-get install slurmctld slurmd slurm-client munge)');
  process.exit(2);
}
const scratch = mkdtempSync(path.join(tmpdir(), 'pipe-bench-slurm-'));
const cluster = await startCluster(path.join(scratch, 'cluster'), { cpus: CPUS });
try {
  const shims = path.join(scratch, 'shims');
  mkdirSync(shims);
  for (const name of CLIENTS) {
    const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(shims, name), `#!/bin/sh\necho ${name} >> "$SLURM_CALLS"\nexec ${real} "$@"\n`);
    chmodSync(path.join(shims, name), 0o755);
  }
  const env = (calls) => ({ ...process.env, ...cluster.env, PATH: `${shims}:${process.env.PATH}`, SLURM_CALLS: calls, USER: process.env.USER ?? 'root', CI: '1' });

  const stages = [];
  for (let c = 0; c < CHAINS; c++) for (let l = 0; l < DEPTH; l++) stages.push({ c, l });
  const out = (c, l) => `out/c${c}_l${l}.txt`;

  // pipe
  const pipeDir = path.join(scratch, 'pipe');
  mkdirSync(pipeDir);
  writeFileSync(path.join(pipeDir, 'pipeline.yaml'), `version: 1\nstages:\n${stages.map(({ c, l }) => `  c${c}_l${l}:
    cmd: sleep ${SLEEP}; ${l ? `cat ${out(c, l - 1)} > ${out(c, l)};` : ''} echo ${c} ${l} >> ${out(c, l)}
    deps: [${l ? out(c, l - 1) : ''}]
    outs: [${out(c, l)}]
    resources: {cpu: 1, mem: 100M}
`).join('')}`);
  const pipeRun = timed(pipeDir, 'node', [bin, 'run', '--executor', 'slurm', '-j', String(stages.length), '-q'], env(path.join(scratch, 'pipe.calls')));

  // snakemake, cluster mode
  const smkDir = path.join(scratch, 'snakemake');
  mkdirSync(smkDir);
  writeFileSync(path.join(smkDir, 'status.sh'), `#!/bin/sh
state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\\([A-Z_]*\\).*/\\1/p')
case "$state" in COMPLETED) echo success ;; PENDING|RUNNING|COMPLETING|CONFIGURING|SUSPENDED|REQUEUED) echo running ;; "") echo success ;; *) echo failed ;; esac
`);
  chmodSync(path.join(smkDir, 'status.sh'), 0o755);
  writeFileSync(path.join(smkDir, 'Snakefile'), `localrules: all
rule all:
    input: [${stages.filter(({ l }) => l === DEPTH - 1).map(({ c, l }) => `"${out(c, l)}"`).join(', ')}]
rule step:
    input: lambda wc: [] if wc.l == "0" else [f"out/c{wc.c}_l{int(wc.l) - 1}.txt"]
    output: "out/c{c}_l{l}.txt"
    shell: "sleep ${SLEEP}; if [ -n '{input}' ]; then cat {input} > {output}; fi; echo {wildcards.c} {wildcards.l} >> {output}"
`);
  const smkArgs = ['--cluster', `sbatch --parsable -c 1 --mem 100 -o ${smkDir}/slurm-%j.out`, '--cluster-status', './status.sh',
    '-j', String(stages.length), '--latency-wait', '5', '--quiet'];
  const smkRun = timed(smkDir, 'snakemake', smkArgs, env(path.join(scratch, 'snakemake.calls')));
  const same = stages.every(({ c, l }) => readFileSync(path.join(pipeDir, out(c, l)), 'utf8') === readFileSync(path.join(smkDir, out(c, l)), 'utf8'));
  // Snakemake waits 10 s between status rounds, 1 s when CI=true (its own test mode): measured too
  rmSync(path.join(smkDir, 'out'), { recursive: true, force: true });
  rmSync(path.join(smkDir, '.snakemake'), { recursive: true, force: true });
  const smkFast = timed(smkDir, 'snakemake', smkArgs, { ...env(path.join(scratch, 'snakemake-ci.calls')), CI: 'true' });

  const rows = [
    ['pipe --executor slurm', pipeRun, counts(path.join(scratch, 'pipe.calls'))],
    ['snakemake --cluster (as users run it: 10 s status rounds)', smkRun, counts(path.join(scratch, 'snakemake.calls'))],
    ['snakemake --cluster, CI=true (1 s status rounds)', smkFast, counts(path.join(scratch, 'snakemake-ci.calls'))],
  ];
  console.log(`${stages.length} jobs (${CHAINS} chains of ${DEPTH}, sleep ${SLEEP} s each), node CPUs=${CPUS}, load ${loadavg()[0].toFixed(2)}; outputs ${same ? 'identical' : 'DIFFER'}`);
  console.log('| tool | wall (s) | sbatch | status calls (squeue+sacct+scontrol) | scancel |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, run, n] of rows) console.log(`| ${name} | ${run.s.toFixed(2)} | ${n.sbatch} | ${n.status} | ${n.scancel} |`);
  for (const s of rows.slice(1)) {
    console.log(`against ${s[0]}: pipe is ${(s[1].s / rows[0][1].s).toFixed(2)}x faster, with ${(s[2].status / Math.max(1, rows[0][2].status)).toFixed(1)}x fewer status calls`);
  }
} finally {
  await cluster.stop();
  rmSync(scratch, { recursive: true, force: true });
}

function timed(cwd, program, args, env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(program, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${program} exited ${r.status}: ${r.stderr?.slice(-2000)}`);
  return { s };
}

function counts(file) {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return { sbatch: lines.filter((l) => l === 'sbatch').length, status: lines.filter((l) => STATUS.has(l)).length, scancel: lines.filter((l) => l === 'scancel').length };
}
