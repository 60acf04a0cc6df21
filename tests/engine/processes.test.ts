/** Processes through the real CLI: Ctrl-C, two runs on one project, a stale lock, resource limits. */
import { execa } from 'execa';
import { hostname } from 'node:os';
import { afterAll, describe, expect, test } from 'vitest';
import { expectExit, isAlive, makeProject, ok, stageEvents, statuses, toResult, waitForFile, type TestProject, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

describe('Ctrl-C', () => {
  test('SIGINT stops every stage process, records nothing for the interrupted stage, exits 130', async () => {
    // slow's sleep is a grandchild of pipe (a child of sh): it must die with the process group
    const p = project(`version: 1
stages:
  quick:
    cmd: echo quick > quick.txt
    outs: [quick.txt]
  slow:
    cmd: sleep "$(cat secs.txt)" & echo $! > sleep.pid; wait; echo done > slow.txt
    deps: [quick.txt]
    outs: [slow.txt]
`, { 'secs.txt': '30\n' });
    const child = p.start(['run']);
    await waitForFile(p.path('sleep.pid'));
    const sleepPid = Number(p.read('sleep.pid').trim());
    expect(isAlive(sleepPid)).toBe(true);
    child.kill('SIGINT');
    const r = toResult(await child);
    expect(r.code).toBe(130);
    expect(stageEvents(r).quick?.status).toBe('ran');
    expect(stageEvents(r).slow?.status).not.toBe('ran');
    await expect.poll(() => isAlive(sleepPid), { timeout: 2000, interval: 50 }).toBe(false);
    expect(p.exists('slow.txt')).toBe(false);

    const status = JSON.parse(ok(await p.pipe(['status'])).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'quick', state: 'fresh' }),
      expect.objectContaining({ name: 'slow', state: 'never-run' }),
    ]));

    p.write('secs.txt', '0\n');
    const rerun = ok(await p.run());
    expect(statuses(rerun)).toEqual({ quick: 'skipped', slow: 'ran' });
    expect(p.read('slow.txt')).toBe('done\n');
  });
});

describe('isolation between stages', () => {
  test('one stage\'s shell state, env and stdin never reach the next one (-j 1: same worker)', async () => {
    const p = project(`version: 1
stages:
  first:
    cmd: cat > first.txt; export LEAK=yes; umask 077; cd /; trap 'echo trapped' EXIT
    env: {OWN: first}
    outs: [first.txt]
  second:
    cmd: echo "leak=$LEAK own=$OWN pwd=$(pwd) umask=$(umask)" > second.txt
    deps: [first.txt]
    outs: [second.txt]
  third:
    cmd: exec sh -c 'echo third > third.txt'
    deps: [second.txt]
    outs: [third.txt]
  fourth:
    cmd: read line || true; echo "line=$line" > fourth.txt
    deps: [third.txt]
    outs: [fourth.txt]
`);
    const r = ok(await p.pipe(['run', '-j', '1'], { timeoutMs: 20_000 }));
    expect(statuses(r)).toEqual({ first: 'ran', second: 'ran', third: 'ran', fourth: 'ran' });
    expect(p.read('first.txt')).toBe('');
    const umask = (await execa('sh', ['-c', 'umask'])).stdout.trim();
    expect(p.read('second.txt')).toBe(`leak= own= pwd=${p.dir} umask=${umask}\n`);
    expect(p.read('fourth.txt')).toBe('line=\n');
  });
});

describe('leftovers', () => {
  test('a process a stage left running in the background is stopped by the end of the run', async () => {
    const p = project(`version: 1
stages:
  daemon:
    cmd: sleep 30 & echo $! > bg.pid; echo > out.txt
    outs: [out.txt]
`);
    ok(await p.run());
    const pid = Number(p.read('bg.pid').trim());
    await expect.poll(() => isAlive(pid), { timeout: 3000, interval: 50 }).toBe(false);
  });
});

describe('the project lock', () => {
  test('two runs at once: the second waits, both succeed, the work is done once', async () => {
    // the stage holds the lock until the test has seen the second run say it is waiting
    const p = project(`version: 1
stages:
  work:
    cmd: touch started; i=0; while [ ! -f go ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; echo work >> ran.log; echo out > out.txt
    outs: [out.txt]
`);
    const first = p.start(['run']);
    await waitForFile(p.path('started'));
    const second = p.start(['run']);
    let secondErr = '';
    second.stderr?.on('data', (chunk: Buffer) => (secondErr += chunk.toString()));
    await expect.poll(() => secondErr, { timeout: 10_000, interval: 50 }).toMatch(/waiting/i);
    p.write('go', '');
    const [a, b] = [toResult(await first), toResult(await second)];
    ok(a);
    ok(b);
    expect(statuses(a)).toEqual({ work: 'ran' });
    expect(statuses(b)).toEqual({ work: 'skipped' });
    expect(p.lines('ran.log')).toEqual(['work']);
    expect(p.read('out.txt')).toBe('out\n');
  });

  test('a lock left by a dead process is taken over', async () => {
    const p = project(`version: 1
stages:
  work:
    cmd: echo out > out.txt
    outs: [out.txt]
`);
    const dead = await execa('sh', ['-c', 'echo $$']);
    const pid = Number(dead.stdout.trim());
    expect(isAlive(pid)).toBe(false);
    p.write('.pipe/lock', JSON.stringify({ pid, host: hostname(), started: new Date().toISOString(), command: 'pipe run' }));
    const r = ok(await p.pipe(['run'], { timeoutMs: 10_000 }));
    expect(statuses(r)).toEqual({ work: 'ran' });
    expect(p.exists('.pipe/lock')).toBe(false);
  });
});

/** Each stage writes its start and end time (ns) so the test can see which ones overlapped. */
function timedStage(name: string, cpu: number): string {
  return `  ${name}:
    cmd: date +%s%N > ${name}.start; sleep 0.4; date +%s%N > ${name}.end
    outs: [${name}.start, ${name}.end]
    resources: {cpu: ${cpu}}
`;
}

function interval(p: TestProject, name: string): [bigint, bigint] {
  return [BigInt(p.read(`${name}.start`).trim()), BigInt(p.read(`${name}.end`).trim())];
}

function overlap(a: [bigint, bigint], b: [bigint, bigint]): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

describe('resources', () => {
  test('with -j 2, two cpu:2 stages never overlap while two cpu:1 stages do', async () => {
    const p = project(`version: 1\nstages:\n${timedStage('big1', 2)}${timedStage('big2', 2)}${timedStage('small1', 1)}${timedStage('small2', 1)}`);
    ok(await p.run('-j', '2', 'big1', 'big2'));
    expect(overlap(interval(p, 'big1'), interval(p, 'big2'))).toBe(false);
    ok(await p.run('-j', '2', 'small1', 'small2'));
    expect(overlap(interval(p, 'small1'), interval(p, 'small2'))).toBe(true);
  });

  test('a stage asking for more cpu than -j is clamped to -j: it runs, alone', async () => {
    const p = project(`version: 1\nstages:\n${timedStage('huge', 4)}${timedStage('small1', 1)}`);
    ok(await p.run('-j', '2'));
    expect(overlap(interval(p, 'huge'), interval(p, 'small1'))).toBe(false);
  });
});
