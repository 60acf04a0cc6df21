/**
 * A stage is told its share of the machine: its declared `resources` as PIPE_CPUS, PIPE_GPUS, PIPE_MEM, and
 * the thread counts of the numeric libraries (OMP_NUM_THREADS, ...) defaulting to its cpus unless `env` sets
 * them. They are part of its environment, so of its key, and a change of `resources.cpu` is explained as one.
 */
import { describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, stageEvents } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const THREADS = ['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'NUMEXPR_NUM_THREADS'];
const SHOWN = ['PIPE_CPUS', 'PIPE_GPUS', 'PIPE_MEM', ...THREADS, 'CUDA_VISIBLE_DEVICES'];

const pipeline = (resources: string, env = '') => `version: 1
${env}
stages:
  train:
    cmd: [sh, -c, 'for v in ${SHOWN.join(' ')}; do printf "%s=" $v; printenv $v || echo unset; done > seen.txt']
    outs: [seen.txt]
    resources: ${resources}
  other:
    cmd: [sh, -c, 'echo $OMP_NUM_THREADS > other.txt']
    outs: [other.txt]
`;

const envOf = async (p: ReturnType<typeof project>, stage: string) =>
  JSON.parse(ok(await p.pipe(['env', stage])).stdout) as Record<string, string>;
const seen = (p: ReturnType<typeof project>) =>
  Object.fromEntries(p.read('seen.txt').trim().split('\n').map((l) => l.split('=') as [string, string]));

describe.concurrent('resources in the environment', () => {
  test('pipe env STAGE prints the declared resources and thread counts; the process sees exactly those', async () => {
    const p = project(pipeline('{cpu: 2, gpu: 0, mem: 512M}'));
    const env = await envOf(p, 'train');
    expect(env.PIPE_CPUS).toBe('2');
    expect(env.PIPE_GPUS).toBe('0');
    expect(env.PIPE_MEM).toBe(String(512 * 1024 * 1024));
    for (const name of THREADS) expect(env[name]).toBe('2');
    expect(env.CUDA_VISIBLE_DEVICES).toBeUndefined(); // pipe counts GPUs, it does not assign them
    // the shell pipe is started from does not decide: the key could not see it
    ok(await p.pipe(['run'], { env: { OMP_NUM_THREADS: '7', PIPE_CPUS: '9' } }));
    expect(seen(p)).toMatchObject({ PIPE_CPUS: '2', PIPE_GPUS: '0', PIPE_MEM: env.PIPE_MEM, OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2' });
    expect(p.read('other.txt')).toBe('1\n'); // a stage that declares nothing has one cpu
  });

  test('a thread count set in env (the stage\'s or the top-level one) wins over the default', async () => {
    const p = project(pipeline('{cpu: 4}', 'env: {OMP_NUM_THREADS: "1"}').replace('    resources:', '    env: {MKL_NUM_THREADS: "3"}\n    resources:'));
    const env = await envOf(p, 'train');
    expect(env).toMatchObject({ PIPE_CPUS: '4', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '3', OPENBLAS_NUM_THREADS: '4' });
    expect(env.PIPE_MEM).toBeUndefined(); // no mem declared: nothing to tell
    ok(await p.run());
    expect(seen(p)).toMatchObject({ OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '3', OPENBLAS_NUM_THREADS: '4', PIPE_MEM: 'unset' });
  });

  test('a change of resources.cpu reruns the stage and is explained as one reason', async () => {
    const p = project(pipeline('{cpu: 1}'));
    ok(await p.run());
    p.pipeline(pipeline('{cpu: 2}'));
    const status = JSON.parse(ok(await p.pipe(['status'])).stdout) as { stages: { name: string; state: string; reasons: string[] }[] };
    const train = status.stages.find((s) => s.name === 'train')!;
    expect(train.state).toBe('stale');
    expect(train.reasons).toEqual(['resources.cpu changed: 1 -> 2 (PIPE_CPUS)']);
    expect(status.stages.find((s) => s.name === 'other')?.state).toBe('fresh');
    const again = ok(await p.run());
    expect(stageEvents(again).train?.status).toBe('ran');
    expect(seen(p).OMP_NUM_THREADS).toBe('2');
  });
});
