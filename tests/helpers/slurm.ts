/**
 * One real single-node Slurm for all the Slurm test files (tests/slurm/*.test.ts), which vitest may run in
 * two workers at once: the first file to need it starts it (bench/slurm-cluster.js) in a scratch folder,
 * each file registers itself as a user, and the last one to leave stops the daemons by their PIDs. A folder
 * made with mkdir is the lock around the shared state.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { slurmInstalled, startCluster } from '../../bench/slurm-cluster.js';
import { afterAll, beforeAll } from 'vitest';
import { isAlive, toResult, type PipeResult, type TestProject } from './pipe-project.js';

export const HAVE_SLURM = slurmInstalled();

const BASE = path.join(tmpdir(), `pipe-slurm-tests-${process.getuid?.() ?? 0}`);
const STATE = path.join(BASE, 'cluster.json');
const LOCK = path.join(BASE, 'lock');

interface Shared {
  conf: string;
  pids: number[];
  users: number[];
}

export interface TestCluster {
  /** SLURM_CONF for the clients (pipe, squeue in the tests) */
  env: { SLURM_CONF: string };
  squeue(): string[];
}

/** The shared cluster, started if no live one is there; `release` when the file is done. */
export async function acquireCluster(): Promise<TestCluster> {
  return withLock(async () => {
    let shared = readShared();
    if (!shared || !shared.pids.every(isAlive) || !existsSync(shared.conf)) {
      if (shared) stopPids(shared.pids);
      const dir = path.join(BASE, `cluster-${process.pid}`);
      rmSync(dir, { recursive: true, force: true });
      const cluster = await startCluster(dir);
      shared = { conf: cluster.conf, pids: cluster.pids.filter((p): p is number => p !== undefined), users: [] };
    }
    shared.users = [...shared.users.filter(isAlive), process.pid];
    writeFileSync(STATE, JSON.stringify(shared));
    return clusterOf(shared.conf);
  });
}

export async function releaseCluster(): Promise<void> {
  await withLock(async () => {
    const shared = readShared();
    if (!shared) return;
    shared.users = shared.users.filter((u) => u !== process.pid && isAlive(u));
    if (shared.users.length) return writeFileSync(STATE, JSON.stringify(shared));
    await stopAndWait(shared.pids);
    rmSync(path.dirname(shared.conf), { recursive: true, force: true });
    rmSync(STATE, { force: true });
  });
}

function clusterOf(conf: string): TestCluster {
  const env = { SLURM_CONF: conf };
  return {
    env,
    squeue: () => execFileSync('squeue', ['-h', '-o', '%i %j %T'], { env: { ...process.env, ...env }, encoding: 'utf8' }).split('\n').filter(Boolean),
  };
}

function readShared(): Shared | undefined {
  try {
    return JSON.parse(readFileSync(STATE, 'utf8')) as Shared;
  } catch {
    return undefined;
  }
}

/** slurmd, slurmctld, munged: the reverse of their start. */
function stopPids(pids: number[]): void {
  for (const pid of [...pids].reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

async function stopAndWait(pids: number[]): Promise<void> {
  stopPids(pids);
  const deadline = Date.now() + 5000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(BASE, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${LOCK} is held for over a minute: remove it if no Slurm test runs`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await work();
  } finally {
    rmdirSync(LOCK);
  }
}

/** For a Slurm test file: the shared cluster held for the file's tests, and `pipe run --executor slurm` on it. */
export function useSharedCluster() {
  let cluster: TestCluster;
  beforeAll(async () => {
    if (HAVE_SLURM) cluster = await acquireCluster();
  });
  afterAll(async () => {
    if (HAVE_SLURM) await releaseCluster();
  });
  const squeue = () => cluster.squeue().map((l) => l.split(' ') as [string, string, string]);
  return {
    get env() {
      return cluster.env;
    },
    /** starts `pipe --json run --executor slurm ARGS` without waiting */
    start: (p: TestProject, args: string[] = [], env: Record<string, string> = {}) =>
      p.start(['run', '--executor', 'slurm', ...args], { env: { ...cluster.env, ...env }, timeoutMs: 60_000 }),
    run: async (p: TestProject, ...args: string[]): Promise<PipeResult> =>
      toResult(await p.start(['run', '--executor', 'slurm', ...args], { env: cluster.env, timeoutMs: 60_000 })),
    /** the jobs queued or running now whose name ends with `:stage` */
    liveJobsOf: (stage: string) => squeue().filter(([, name, state]) => name.endsWith(`:${stage}`) && /PENDING|RUNNING|COMPLETING|CONFIGURING/.test(state)),
    runningJobOf: (stage: string) => squeue().find(([, name, state]) => name.endsWith(`:${stage}`) && state === 'RUNNING')?.[0],
    scancel: (id: string) => execFileSync('scancel', [id], { env: { ...process.env, ...cluster.env } }),
  };
}

export const jobEvents = (r: PipeResult) => r.events.filter((e) => e.type === 'job');
