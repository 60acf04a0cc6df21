/**
 * Crash safety: SIGKILL `pipe run` at seeded random moments while inputs change between runs, then run to
 * completion and compare every output with an uninterrupted reference run.
 *   PIPE_CRASH_ITERATIONS  kill points (default 30)      PIPE_CRASH_SEED  the seed (default 1)
 *   PIPE_CRASH_LINK        the cache.link of the killed project (reflink, hardlink, copy; default none)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { crashStages, setSources, writeCrashProject } from './crash-pipeline.js';
import {
  corruptRecordLines, envInt, isAlive, listFiles, ndjson, pipeAsync, pipeSync, removeProject, seededRandom, tempFilesUnder, tempProject,
} from './helpers.js';

const ITERATIONS = envInt('PIPE_CRASH_ITERATIONS', 30);
const SEED = envInt('PIPE_CRASH_SEED', 1);
const MAX_KILL_DELAY_MS = 800;
const FINAL_SOURCES = [2, 1, 3, 0];

const projects: string[] = [];
afterAll(() => projects.forEach(removeProject));

function project(prefix: string): string {
  const dir = tempProject(prefix);
  projects.push(dir);
  return dir;
}

function outputs(dir: string): Map<string, string> {
  return new Map(listFiles(path.join(dir, 'out')).map((rel) => [rel, readFileSync(path.join(dir, 'out', rel), 'latin1')]));
}

function recordedPids(dir: string): number[] {
  const pidsDir = path.join(dir, 'pids');
  return readdirSync(pidsDir).flatMap((f) => readFileSync(path.join(pidsDir, f), 'utf8').split('\n').filter(Boolean).map(Number));
}

function leftovers(dir: string): string[] {
  return [...tempFilesUnder(path.join(dir, '.pipe')).map((f) => `.pipe/${f}`), ...tempFilesUnder(path.join(dir, 'out')).map((f) => `out/${f}`)];
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('SIGKILL of pipe', () => {
  const stages = crashStages();

  test(`${ITERATIONS} seeded kill points (seed ${SEED}): no wrong skip, no torn record, no temp file, no stage left running`, async () => {
    const reference = project('crash-ref');
    writeCrashProject(reference, stages, FINAL_SOURCES);
    expect(pipeSync(reference, ['run', '-q']).code).toBe(0);

    const dir = project('crash');
    writeCrashProject(dir, stages, [0, 0, 0, 0]);
    const random = seededRandom(SEED);
    const variants = [0, 0, 0, 0];
    let killedWhileRunning = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      variants[Math.floor(random() * 4)] = Math.floor(random() * 4);
      setSources(dir, variants);
      const failing = random() < 0.3 ? `s${String(5 + 8 * Math.floor(random() * 4)).padStart(2, '0')}` : 'none';
      const jobs = String(1 + Math.floor(random() * 3));
      const delay = Math.floor(random() * MAX_KILL_DELAY_MS);
      const { child, exited, output } = pipeAsync(dir, ['run', '-q', '-j', jobs, '--set', `fail=${failing}`]);
      await sleep(delay);
      if (child.exitCode === null && child.signalCode === null) {
        killedWhileRunning++;
        child.kill('SIGKILL');
      }
      await exited; // not 'close': orphaned stages may hold its stdio; the next run must stop them
      expect(output(), `iteration ${i}`).not.toMatch(/^\s+at |internal error/m);
      expect(corruptRecordLines(dir), `iteration ${i}: corrupted records`).toEqual([]);
    }

    setSources(dir, FINAL_SOURCES);
    const final = pipeSync(dir, ['run', '-q']);
    expect(final.code, final.stderr).toBe(0);
    // every output equals the reference: a stage skipped wrongly would leave an earlier variant's output
    expect(outputs(dir)).toEqual(outputs(reference));
    expect(corruptRecordLines(dir)).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
    expect(recordedPids(dir).filter(isAlive)).toEqual([]);
    const again = ndjson(pipeSync(dir, ['run', '--json']).stdout).find((e) => e.type === 'summary');
    expect(again).toMatchObject({ ran: 0, failed: 0 });
    console.log(`crash harness: ${killedWhileRunning} of ${ITERATIONS} kills landed while pipe was running (seed ${SEED}, ${stages.length} stages)`);
    expect(killedWhileRunning).toBeGreaterThan(ITERATIONS / 2);
  }, 60_000 + ITERATIONS * 3_000);

  test('a stage still running when pipe is killed is stopped by the next run, before it can write', async () => {
    const dir = project('orphan');
    writeFileSync(path.join(dir, 'pipeline.yaml'), [
      'version: 1',
      'stages:',
      '  hang:',
      '    cmd: "echo $$ > hang.pid; sleep 30; echo late > out.txt"',
      '    outs: [out.txt]',
      '  quick:',
      '    cmd: "echo quick > quick.txt"',
      '    outs: [quick.txt]',
    ].join('\n') + '\n');
    const { child, exited } = pipeAsync(dir, ['run', '-q', 'hang']);
    const pidFile = path.join(dir, 'hang.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await sleep(50);
    await sleep(50);
    const stagePid = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGKILL');
    await exited;
    expect(isAlive(stagePid)).toBe(true); // orphaned: pipe could not stop it
    const next = pipeSync(dir, ['run', '-q', 'quick']);
    expect(next.code, next.stderr).toBe(0);
    await sleep(100);
    expect(isAlive(stagePid)).toBe(false);
    expect(existsSync(path.join(dir, 'out.txt'))).toBe(false);
  });
});

describe('the journal of running stage groups a killed pipe leaves', () => {
  test('the next run stops the groups it lists as running, and only those: ended, reused pids and a torn line are left alone', async () => {
    const dir = project('journal');
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  quick:\n    cmd: "echo quick > quick.txt"\n    outs: [quick.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    const running = groupLeader();
    const ended = groupLeader();
    const reused = groupLeader(); // listed with another start time: the pid now belongs to someone else
    const torn = groupLeader();
    const legacy = groupLeader(); // a file per group, as pipe wrote them before the journal
    const dead = 2 ** 22 + 1; // above pid_max: the owner is gone
    const procs = path.join(dir, '.pipe', 'procs');
    mkdirSync(procs, { recursive: true });
    writeFileSync(path.join(procs, `run-${dead}-1`), [
      JSON.stringify({ owner: dead, host: hostname() }),
      `+ ${running.pid} ${startTime(running.pid)} "slow stage"`,
      `+ ${ended.pid} ${startTime(ended.pid)} "done stage"`,
      `- ${ended.pid}`,
      `+ ${reused.pid} 1 "old stage"`,
      `+ ${torn.pid} ${startTime(torn.pid)} "to`,
    ].join('\n'));
    writeFileSync(path.join(procs, String(legacy.pid)), JSON.stringify({ owner: dead, host: hostname(), stage: 'legacy', start: startTime(legacy.pid) }));
    try {
      const next = pipeSync(dir, ['run', '-q', '--force', 'quick']);
      expect(next.code, next.stderr).toBe(0);
      await expect.poll(() => isAlive(running.pid), { timeout: 3000, interval: 50 }).toBe(false);
      await expect.poll(() => isAlive(legacy.pid), { timeout: 3000, interval: 50 }).toBe(false);
      expect([ended, reused, torn].map((c) => isAlive(c.pid))).toEqual([true, true, true]);
      expect(readdirSync(procs)).toEqual([]); // read and removed; this run's own journal is gone once it ended
    } finally {
      for (const c of [running, ended, reused, torn, legacy]) c.kill('SIGKILL');
    }
  });
});

/** A `sleep` that leads a process group of its own, as a stage does. */
function groupLeader(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child as ChildProcess & { pid: number };
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('SIGKILL of pipe while a stage runs without its earlier outputs', () => {
  test('the next run puts the set-aside outputs back first: correct outputs, a hand edit kept, nothing left aside', async () => {
    const dir = project('aside');
    writeFileSync(path.join(dir, 'pipeline.yaml'), [
      'version: 1',
      'vars: {v: one}',
      'stages:',
      '  gen:',
      '    cmd: "echo $$ > gen.pid; echo ${v} >> out.txt; mkdir -p dir; echo ${v} > dir/${v}.txt; if [ ${v} = two ]; then sleep 30; fi"',
      '    params: [v]',
      '    outs: [out.txt, dir]',
    ].join('\n') + '\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    writeFileSync(path.join(dir, 'out.txt'), 'precious edit\n');
    const pidFile = path.join(dir, 'gen.pid');
    rmSync(pidFile);
    const { child, exited } = pipeAsync(dir, ['run', '-q', '--set', 'v=two']);
    for (let i = 0; i < 200 && !existsSync(path.join(dir, 'dir/two.txt')); i++) await sleep(25);
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('two\n'); // what the killed stage left

    const next = pipeSync(dir, ['run', '-q', '--set', 'v=three']);
    expect(next.code, next.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('three\n');
    expect(listFiles(path.join(dir, 'dir'))).toEqual(['three.txt']);
    // the hand edit was put back by the recovery, then kept when the stage ran over it
    const backups = listFiles(path.join(dir, '.pipe/backup'));
    expect(backups.map((f) => readFileSync(path.join(dir, '.pipe/backup', f), 'utf8'))).toContain('precious edit\n');
    expect(listFiles(path.join(dir, '.pipe/aside'))).toEqual([]);
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);

    const back = pipeSync(dir, ['run', '-q']);
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('one\n');
    expect(listFiles(path.join(dir, 'dir'))).toEqual(['one.txt']);
  });

  test('killed mid-stage, then the same run again: the recorded outputs are back and the stage is fresh', async () => {
    const dir = project('aside-fresh');
    writeFileSync(path.join(dir, 'pipeline.yaml'), [
      'version: 1',
      'vars: {v: one}',
      'stages:',
      '  gen:',
      '    cmd: "echo ${v} >> out.txt; mkdir -p dir; echo ${v} > dir/${v}.txt; if [ ${v} = two ]; then sleep 30; fi"',
      '    params: [v]',
      '    outs: [out.txt, dir]',
    ].join('\n') + '\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    const { child, exited } = pipeAsync(dir, ['run', '-q', '--set', 'v=two']);
    for (let i = 0; i < 200 && !existsSync(path.join(dir, 'dir/two.txt')); i++) await sleep(25);
    child.kill('SIGKILL');
    await exited;
    const events = ndjson(pipeSync(dir, ['run', '--json']).stdout);
    expect(events.find((e) => e.type === 'stage')).toMatchObject({ stage: 'gen', status: 'skipped' });
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('one\n');
    expect(listFiles(path.join(dir, 'dir'))).toEqual(['one.txt']);
  });
});

describe('SIGKILL of a stage process', () => {
  test('the stage fails, records nothing, blocks its downstream; the rerun succeeds', async () => {
    const dir = project('stage-kill');
    writeFileSync(path.join(dir, 'pipeline.yaml'), [
      'version: 1',
      'stages:',
      '  victim:',
      '    cmd: "echo $$ > victim.pid; if [ ! -e once ]; then touch once; printf partial > out.txt; sleep 30; fi; echo whole > out.txt"',
      '    outs: [out.txt]',
      '  after:',
      '    cmd: "cat out.txt > after.txt"',
      '    deps: [out.txt]',
      '    outs: [after.txt]',
    ].join('\n') + '\n');
    const { done } = pipeAsync(dir, ['run', '--json']);
    const pidFile = path.join(dir, 'victim.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await sleep(50);
    await sleep(100);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    const first = await done;
    expect(first.code).toBe(1);
    const events = ndjson(first.stdout);
    expect(events.find((e) => e.stage === 'victim' && e.type === 'stage')).toMatchObject({ status: 'failed', reason: expect.stringContaining('SIGKILL') });
    expect(events.find((e) => e.stage === 'after' && e.type === 'stage')).toMatchObject({ status: 'failed', reason: expect.stringContaining('victim') });
    expect(existsSync(path.join(dir, 'after.txt'))).toBe(false);
    const status = JSON.parse(pipeSync(dir, ['status', '--json']).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages.find((s) => s.name === 'victim')?.state).toBe('never-run');
    const rerun = pipeSync(dir, ['run', '-q']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'after.txt'), 'utf8')).toBe('whole\n');
  });
});
