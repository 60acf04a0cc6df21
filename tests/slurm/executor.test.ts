/**
 * `pipe run --executor slurm` against a real single-node Slurm (tests/helpers/slurm.ts): the same outputs
 * and records as a local run, a rerun submits nothing, the job's environment and resources; the slurm:
 * block's validation.
 */
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { PIPE_BIN, expectExit, ok, projectsRemovedAfterAll, stageEvents, statuses, toResult } from '../helpers/pipe-project.js';
import { HAVE_SLURM, jobEvents, useSharedCluster } from '../helpers/slurm.js';

const project = projectsRemovedAfterAll();
const slurm = useSharedCluster();

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
    const [r, l] = await Promise.all([slurm.run(onSlurm, '-j', '8'), local.pipe(['run'])]);
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
    const again = ok(await slurm.run(onSlurm));
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
    const minimal = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', CI: '1', ...slurm.env };
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

