/**
 * A real single-node Slurm (munged, slurmctld, slurmd) in a scratch folder, on loopback, without systemd:
 * for the Slurm tests (tests/helpers/slurm.ts) and bench/slurm.js. Every daemon runs in the foreground as
 * our child and is stopped by its PID. Facts behind the settings: ../shared/notes/cluster-and-cache.md.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/** @returns {boolean} */
export function slurmInstalled() {
  try {
    execFileSync('sh', ['-c', 'command -v sbatch && command -v slurmctld && command -v slurmd && command -v munged'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {{port: number}} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} dir scratch folder (created)
 * @param {{ cpus?: number }} [opts] cpus: what the node offers (more than the machine has: config_overrides)
 */
export async function startCluster(dir, opts = {}) {
  for (const d of ['state', 'spool', 'log']) mkdirSync(path.join(dir, d), { recursive: true });
  const cpus = opts.cpus ?? 2;
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(conf, `ClusterName=pipetest
SlurmctldHost=localhost
SlurmctldPort=${ctldPort}
SlurmdPort=${dPort}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=${dir}/munge.sock
CredType=cred/munge
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`);
  const env = { ...process.env, SLURM_CONF: conf };
  const children = [];
  const start = (program, args) => {
    const child = spawn(program, args, { env, stdio: 'ignore' });
    children.push(child);
    return child;
  };
  // a key of our own where mungekey exists (munge >= 0.5.14), else the one the munge package made
  const key = path.join(dir, 'munge.key');
  try {
    execFileSync('mungekey', ['-c', '-f', '-k', key], { stdio: 'ignore' });
  } catch {
    /* the default /etc/munge/munge.key */
  }
  start('munged', ['-F', '-f', ...(existsSync(key) ? [`--key-file=${key}`] : []), `--socket=${dir}/munge.sock`, `--pid-file=${dir}/munged.pid`, `--seed-file=${dir}/munged.seed`, `--log-file=${dir}/log/munged.log`]);
  await until(() => existsSync(path.join(dir, 'munge.sock')), 5000, 'munged');
  start('slurmctld', ['-D', '-i']);
  start('slurmd', ['-D', '-N', 'localhost']);
  await until(() => {
    try {
      return /idle/.test(execFileSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      return false;
    }
  }, 20_000, 'slurmd to be idle');
  return {
    dir,
    conf,
    /** the environment a Slurm client needs: SLURM_CONF */
    env: { SLURM_CONF: conf },
    pids: children.map((c) => c.pid),
    /** slurmd, then slurmctld, then munged, each by its PID */
    async stop() {
      for (const child of [...children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  };
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
