/**
 * `pipe run --executor slurm` when things go wrong, against a real single-node Slurm: a failing job, a job
 * cancelled from outside, Ctrl-C, and a pipe run killed with SIGKILL whose job the next run waits for.
 */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents, statuses, toResult, waitForFile, type PipeResult, type TestProject } from '../helpers/pipe-project.js';
import { HAVE_SLURM, jobEvents, useSharedCluster } from '../helpers/slurm.js';

const project = projectsRemovedAfterAll();
const slurm = useSharedCluster();

/** Runs the project, cancels `stage`'s job with scancel once its command has started, and returns the failed run. */
async function cancelledFromOutside(p: TestProject, stage: string): Promise<{ r: PipeResult; id: string }> {
  const child = slurm.start(p);
  await waitForFile(p.path('started'), 20_000);
  const id = slurm.runningJobOf(stage);
  expect(id).toBeDefined();
  slurm.scancel(id!);
  const r = toResult(await child);
  if (r.code !== 1) throw new Error(`pipe exited ${r.code}, expected 1; the stage's log:\n${p.exists(`.pipe/logs/${stage}.log`) ? p.read(`.pipe/logs/${stage}.log`) : '(none)'}\n--- stdout\n${r.stdout}`);
  return { r, id: id! };
}

/** A command's wait that only a signal ends: one sleep ended early (a stray signal, a failed fork) does not end it. */
const UNTIL_CANCELLED = 'until [ -e never ]; do sleep 1; done';

describe.skipIf(!HAVE_SLURM)('pipe run --executor slurm when things go wrong', () => {
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
    const r = expectExit(await slurm.run(p), 1);
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
    cmd: touch started; ${UNTIL_CANCELLED}; echo never > victim.txt
    outs: [victim.txt]
`);
    const { r, id } = await cancelledFromOutside(p, 'victim');
    expect(stageEvents(r).victim?.reason).toMatch(new RegExp(`Slurm job ${id} CANCELLED: cancelled from outside pipe`));
    expect(stageEvents(r).victim?.job).toBe(id);
  });

  test('a job cancelled from outside whose command ends cleanly on SIGTERM (a checkpoint handler) still fails its stage', async () => {
    // a training script that saves and exits 0 on SIGTERM: its output is what was left, not the stage's result
    const p = project(`version: 1
stages:
  graceful:
    cmd: trap 'sleep 1; echo partial > graceful.txt; exit 0' TERM; touch started; until [ -e never ]; do sleep 1 & wait; done
    outs: [graceful.txt]
`);
    const { r, id } = await cancelledFromOutside(p, 'graceful');
    expect(stageEvents(r).graceful).toMatchObject({ status: 'failed', job: id });
    expect(stageEvents(r).graceful?.reason).toMatch(new RegExp(`Slurm job ${id} CANCELLED`));
  });

  test('Ctrl-C during a long job cancels it: nothing left in squeue, nothing recorded, exit 130', async () => {
    const p = project(`version: 1
stages:
  long:
    cmd: touch started; ${UNTIL_CANCELLED}; echo done > long.txt
    outs: [long.txt]
`);
    const child = slurm.start(p);
    await waitForFile(p.path('started'), 20_000);
    expect(slurm.liveJobsOf('long')).not.toEqual([]);
    child.kill('SIGINT');
    const r = expectExit(toResult(await child), 130);
    expect(stageEvents(r).long?.status).toBe('failed');
    expect(slurm.liveJobsOf('long')).toEqual([]);
    const status = JSON.parse(ok(await p.pipe(['status'], { env: slurm.env })).stdout) as { stages: { name: string; state: string }[] };
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
    const first = slurm.start(p);
    await waitForFile(p.path('started'), 20_000);
    first.kill('SIGKILL');
    await first;
    expect(slurm.liveJobsOf('slow')).not.toEqual([]); // the job outlives its pipe
    // pipe status says where the stage's job is
    const status = JSON.parse(ok(await p.pipe(['status'], { env: slurm.env })).stdout) as { stages: { name: string; slurm?: { job: string; state: string; node?: string } }[] };
    expect(status.stages.find((s) => s.name === 'slow')?.slurm).toMatchObject({ state: 'RUNNING', node: 'localhost' });
    expect((await p.pipe(['status'], { env: slurm.env, json: false })).stdout).toMatch(/slow .*\[Slurm job \d+ running on localhost\]/);

    const second = toResult(await slurm.start(p));
    ok(second);
    expect(second.stderr).toMatch(/waiting for 1 Slurm job\(s\) of an earlier pipe run that was stopped: slow \(job \d+\)/);
    expect(statuses(second)).toEqual({ slow: 'ran', next: 'ran' });
    // slow's one job (of the killed run) did the work: no second submission
    expect(jobEvents(second).filter((e) => e.state === 'SUBMITTED').map((e) => e.stage)).toEqual(['next']);
    expect(p.lines('runs.log')).toEqual(['slow', 'next']);
    expect(p.read('next.txt')).toBe('slow\nnext\n');
    expect(Object.values(statuses(ok(await slurm.run(p)))).every((s) => s === 'skipped')).toBe(true);
  });
});

describe.skipIf(!HAVE_SLURM)('outputs a shared filesystem shows late', () => {
  // the job ends before its output appears (a process it left, outside Slurm's tracking, writes it a second later)
  const LATE = (wait: number) => `version: 1
stages:
  late:
    cmd: setsid sh -c 'sleep 1; echo late > late.txt' </dev/null >/dev/null 2>&1 &
    outs: [late.txt]
    slurm: {latency_wait: ${wait}}
`;

  test('are waited for up to latency_wait, then hashed and recorded', async () => {
    const p = project(LATE(10));
    const r = ok(await slurm.run(p));
    expect(statuses(r)).toEqual({ late: 'ran' });
    expect(p.read('late.txt')).toBe('late\n');
  });

  test('past latency_wait the stage fails naming the file', async () => {
    const p = project(LATE(0));
    const r = expectExit(await slurm.run(p), 1);
    expect(stageEvents(r).late?.reason).toBe('exited 0 but did not write late.txt');
  });
});
