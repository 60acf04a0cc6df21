/**
 * `pipe run --executor slurm` against a real single-node Slurm (tests/helpers/slurm.ts): the same outputs
 * and records as a local run, the job's environment, resources, failures in Slurm's words, Ctrl-C, and a
 * pipe run killed with SIGKILL whose jobs the next run waits for instead of submitting them again.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PIPE_BIN, expectExit, ok, parseEvents, projectsRemovedAfterAll, stageEvents, statuses, toResult, waitForFile, type PipeResult, type TestProject } from '../helpers/pipe-project.js';
import { acquireCluster, HAVE_SLURM, releaseCluster, type TestCluster } from '../helpers/slurm.js';

const project = projectsRemovedAfterAll();
let cluster: TestCluster;

beforeAll(async () => {
  if (HAVE_SLURM) cluster = await acquireCluster();
});
afterAll(async () => {
  if (HAVE_SLURM) await releaseCluster();
});

function slurm(p: TestProject, args: string[], env: Record<string, string> = {}) {
  return p.start(['run', '--executor', 'slurm', ...args], { env: { ...cluster.env, ...env }, timeoutMs: 60_000 });
}

async function runSlurm(p: TestProject, ...args: string[]): Promise<PipeResult> {
  return toResult(await slurm(p, args));
}

const jobEvents = (r: PipeResult) => r.events.filter((e) => e.type === 'job');

/** The run's jobs Slurm still lists as queued or running, by name. */
function liveJobs(): string[] {
  return cluster.squeue().filter((l) => /PENDING|RUNNING|COMPLETING|CONFIGURING/.test(l));
}

function jobIdOf(stage: string): string | undefined {
  return cluster.squeue().map((l) => l.split(' ')).find(([, name, state]) => name!.endsWith(`:${stage}`) && state === 'RUNNING')?.[0];
}

/** src -> a, b, c -> (a,b) d, (b,c) e -> (d, e) f -> g, h -> (g, h) i -> j -> k: twelve stages, two diamonds. */
const DIAMONDS = `version: 1
stages:
  src:
    cmd: echo source > src.txt
    outs: [src.txt]
${[
  ['a', ['src']], ['b', ['src']], ['c', ['src']], ['d', ['a', 'b']], ['e', ['b', 'c']], ['f', ['d', 'e']],
  ['g', ['f']], ['h', ['f']], ['i', ['g', 'h']], ['j', ['i']], ['k', ['j']],
].map(([name, deps]) => `  ${name}:
    cmd: cat ${(deps as string[]).map((d) => `${d}.txt`).join(' ')} > ${name}.txt; echo ${name} >> ${name}.txt
    deps: [${(deps as string[]).map((d) => `${d}.txt`).join(', ')}]
    outs: [${name}.txt]
`).join('')}`;

describe.skipIf(!HAVE_SLURM)('pipe run --executor slurm', () => {
  test('a dozen stages with diamonds: the same outputs and records as a local run; a rerun submits nothing', async () => {
    const onSlurm = project(DIAMONDS);
    const local = project(DIAMONDS);
    const [r, l] = await Promise.all([runSlurm(onSlurm, '-j', '8'), local.pipe(['run'])]);
    ok(r);
    ok(l);
    expect(Object.values(statuses(r)).every((s) => s === 'ran')).toBe(true);
    expect(Object.keys(statuses(r))).toHaveLength(12);
    // every command stage was a job, named after the run and the stage, its id on the stage event
    const submitted = jobEvents(r).filter((e) => e.state === 'SUBMITTED');
    expect(submitted.map((e) => e.stage).sort()).toEqual(Object.keys(statuses(r)).sort());
    for (const [name, e] of Object.entries(stageEvents(r))) expect(e.job).toBe(submitted.find((s) => s.stage === name)!.job);
    for (const f of readdirSync(local.dir).filter((n) => n.endsWith('.txt'))) expect(onSlurm.read(f)).toBe(local.read(f));
    expect(onSlurm.read('k.txt')).toBe(local.read('k.txt'));

    // the records are a local run's: a local run after the Slurm run has nothing to do
    const after = ok(await onSlurm.pipe(['run', '--executor', 'local']));
    expect(Object.values(statuses(after)).every((s) => s === 'skipped')).toBe(true);
    const again = ok(await runSlurm(onSlurm));
    expect(Object.values(statuses(again)).every((s) => s === 'skipped')).toBe(true);
    expect(jobEvents(again)).toEqual([]);
  });

  test('the job runs under exactly the environment `pipe env STAGE` prints, with 2 cpus per task for cpu: 2', async () => {
    const p = project(`version: 1
env: {GREETING: "hello 'world'", MULTI: "one\\ntwo"}
stages:
  fetchless:
    cmd: [sh, -c, 'env -0 > env.bin']
    outs: [env.bin]
    resources: {cpu: 2, mem: 200M}
`);
    // a minimal environment for pipe: what Slurm's own defaults or root's login files add must not show up
    const minimal = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', CI: '1', ...cluster.env };
    const run = await execa('node', [PIPE_BIN, '--json', 'run', '--executor', 'slurm'], { cwd: p.dir, env: minimal, extendEnv: false, reject: false });
    ok(toResult(run));
    const inJob = Object.fromEntries(readFileSync(p.path('env.bin'), 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const printed = JSON.parse((await execa('node', [PIPE_BIN, '--json', 'env', 'fetchless'], { cwd: p.dir, env: minimal, extendEnv: false })).stdout) as Record<string, string>;
    for (const [k, v] of Object.entries(printed)) expect({ [k]: inJob[k] }).toEqual({ [k]: v });
    expect(inJob.GREETING).toBe("hello 'world'");
    expect(inJob.MULTI).toBe('one\ntwo');
    const others = Object.keys(inJob).filter((k) => !(k in printed) && !(k in minimal) && !/^SLURM/.test(k) && !['PWD', 'SHLVL', '_'].includes(k));
    expect(others).toEqual([]);
    expect(inJob.SLURM_CPUS_PER_TASK).toBe('2');
    expect(inJob.SLURM_MEM_PER_NODE).toBe('200');
  });

  test('a failing job fails its stage with the exit code and the log tail, and stops what depends on it', async () => {
    const p = project(`version: 1
stages:
  broken:
    cmd: echo "something went wrong" >&2; exit 3
    outs: [broken.txt]
  after:
    cmd: cat broken.txt > after.txt
    deps: [broken.txt]
    outs: [after.txt]
`);
    const r = expectExit(await runSlurm(p), 1);
    const broken = stageEvents(r).broken!;
    expect(broken.status).toBe('failed');
    expect(broken.reason).toBe('command failed (exit code 3)');
    expect(broken.tail).toContain('something went wrong');
    expect(broken.log).toBe('.pipe/logs/broken.log');
    expect(stageEvents(r).after).toMatchObject({ status: 'failed', notRun: true });
  });

  test('a job cancelled from outside fails its stage naming CANCELLED', async () => {
    const p = project(`version: 1
stages:
  victim:
    cmd: touch started; sleep 30; echo never > victim.txt
    outs: [victim.txt]
`);
    const child = slurm(p, []);
    await waitForFile(p.path('started'), 20_000);
    const id = jobIdOf('victim');
    expect(id).toBeDefined();
    execFileSync('scancel', [id!], { env: { ...process.env, ...cluster.env } });
    const r = expectExit(toResult(await child), 1);
    expect(stageEvents(r).victim?.reason).toMatch(new RegExp(`Slurm job ${id} CANCELLED: cancelled from outside pipe`));
    expect(stageEvents(r).victim?.job).toBe(id);
  });

  test('Ctrl-C during a long job cancels it: nothing left in squeue, nothing recorded, exit 130', async () => {
    const p = project(`version: 1
stages:
  long:
    cmd: touch started; sleep 60; echo done > long.txt
    outs: [long.txt]
`);
    const child = slurm(p, []);
    await waitForFile(p.path('started'), 20_000);
    expect(liveJobs().some((l) => l.includes(':long '))).toBe(true);
    child.kill('SIGINT');
    const r = expectExit(toResult(await child), 130);
    expect(stageEvents(r).long?.status).toBe('failed');
    expect(liveJobs().filter((l) => l.includes(':long '))).toEqual([]);
    const status = JSON.parse(ok(await p.pipe(['status'], { env: cluster.env })).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages).toEqual([expect.objectContaining({ name: 'long', state: 'never-run' })]);
  });

  test('pipe run killed with SIGKILL during a job: the next run waits for that job and records it; no stage runs twice', async () => {
    const p = project(`version: 1
stages:
  slow:
    cmd: touch started; sleep 5; echo slow >> runs.log; echo slow > slow.txt
    outs: [slow.txt]
  next:
    cmd: echo next >> runs.log; cat slow.txt > next.txt; echo next >> next.txt
    deps: [slow.txt]
    outs: [next.txt]
`);
    const first = slurm(p, []);
    await waitForFile(p.path('started'), 20_000);
    first.kill('SIGKILL');
    await first;
    expect(liveJobs().some((l) => l.includes(':slow '))).toBe(true); // the job outlives its pipe
    // pipe status says where the stage's job is
    const status = JSON.parse(ok(await p.pipe(['status'], { env: cluster.env })).stdout) as { stages: { name: string; slurm?: { job: string; state: string; node?: string } }[] };
    expect(status.stages.find((s) => s.name === 'slow')?.slurm).toMatchObject({ state: 'RUNNING', node: 'localhost' });
    expect((await p.pipe(['status'], { env: cluster.env, json: false })).stdout).toMatch(/slow .*\[Slurm job \d+ running on localhost\]/);

    const second = toResult(await slurm(p, []));
    ok(second);
    expect(second.stderr).toMatch(/waiting for 1 Slurm job\(s\) of an earlier pipe run that was stopped: slow \(job \d+\)/);
    expect(statuses(second)).toEqual({ slow: 'ran', next: 'ran' });
    // slow's one job (of the killed run) did the work: no second submission
    expect(jobEvents(second).filter((e) => e.state === 'SUBMITTED').map((e) => e.stage)).toEqual(['next']);
    expect(p.lines('runs.log')).toEqual(['slow', 'next']);
    expect(p.read('next.txt')).toBe('slow\nnext\n');
    expect(Object.values(statuses(ok(await runSlurm(p)))).every((s) => s === 'skipped')).toBe(true);
  });
});

describe('the slurm: block is validated like the rest of the file', () => {
  test('an unknown key is an error naming file:line:col, with a did-you-mean', async () => {
    const p = project(`version: 1
slurm:
  partiton: gpu
stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipeline\.yaml:3:3/);
    expect(r.stderr).toMatch(/partition/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('extra may not set what pipe sets itself', async () => {
    const p = project(`version: 1
stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
    slurm: {extra: [--output=/tmp/x]}
`);
    const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
    expect(r.stderr).toMatch(/pipe sets this option itself/);
  });
});

export { parseEvents };
