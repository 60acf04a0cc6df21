/**
 * Several `pipe run` on one project at once: one writer at a time through .pipe/lock, the others wait and
 * say for whom; the result equals a serial run and every stage runs once. A lock left by a killed run is
 * taken over.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { corruptRecordLines, listFiles, ndjson, pipeAsync, pipeSync, removeProject, stackLines, tempFilesUnder, tempProject } from './helpers.js';

const PIPELINE = `version: 1
stages:
  root:
    cmd: "while [ -f hold ]; do sleep 0.02; done; sleep 0.1; cat src/in.txt > out/root.txt"
    deps: [src/in.txt]
    outs: [out/root.txt]
${[1, 2, 3].map((i) => `  a${i}:
    cmd: "sleep 0.05; { cat ${i === 1 ? 'out/root.txt' : `out/a${i - 1}.txt`}; echo a${i}; } > out/a${i}.txt"
    deps: [${i === 1 ? 'out/root.txt' : `out/a${i - 1}.txt`}]
    outs: [out/a${i}.txt]
  b${i}:
    cmd: "sleep 0.05; { cat ${i === 1 ? 'out/root.txt' : `out/b${i - 1}.txt`}; echo b${i}; } > out/b${i}.txt"
    deps: [${i === 1 ? 'out/root.txt' : `out/b${i - 1}.txt`}]
    outs: [out/b${i}.txt]`).join('\n')}
`;
const STAGE_COUNT = 7;

const projects: string[] = [];
afterAll(() => projects.forEach(removeProject));

function project(): string {
  const dir = tempProject('conc', { 'pipeline.yaml': PIPELINE, 'src/in.txt': 'input\n' });
  mkdirSync(path.join(dir, 'out'), { recursive: true });
  projects.push(dir);
  return dir;
}

function outputs(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(path.join(dir, 'out')).map((f) => [f, readFileSync(path.join(dir, 'out', f), 'utf8')]));
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('concurrent runs', () => {
  const reference = project();
  expect(pipeSync(reference, ['run', '-q']).code).toBe(0);

  test('4 runs at once (same and different targets) equal a serial run; each stage runs once; waiters say for whom', async () => {
    const dir = project();
    const targets = [[], ['a3'], ['b3'], ['a2', 'b2']];
    const runs = targets.map((t) => pipeAsync(dir, ['run', '--json', ...t]));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(stackLines(r.stdout + r.stderr)).toEqual([]);
    }
    const summaries = results.map((r) => ndjson(r.stdout).find((e) => e.type === 'summary') as { ran: number; restored: number });
    expect(summaries.reduce((n, s) => n + s.ran + s.restored, 0)).toBe(STAGE_COUNT);
    const waited = results.filter((r) => /waiting for another run of this project to finish: pid \d+ \(pipe run/.test(r.stdout + r.stderr));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    expect(outputs(dir)).toEqual(outputs(reference));
    expect(corruptRecordLines(dir)).toEqual([]);
    expect(existsSync(path.join(dir, '.pipe/lock'))).toBe(false);
    expect(tempFilesUnder(path.join(dir, '.pipe'))).toEqual([]);
    const status = JSON.parse(pipeSync(dir, ['status', '--json']).stdout) as { stages: { state: string }[] };
    expect(status.stages.map((s) => s.state)).toEqual(Array(STAGE_COUNT).fill('fresh'));
  });

  test('3 runs at once after an input change rerun each stage once, and `clean` waits too', async () => {
    const dir = project();
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    writeFileSync(path.join(dir, 'src/in.txt'), 'changed\n');
    const runs = [pipeAsync(dir, ['run', '--json']), pipeAsync(dir, ['run', '--json', 'a3']), pipeAsync(dir, ['run', '--json', 'b3'])];
    const results = await Promise.all(runs.map((r) => r.done));
    const ran = results.map((r) => (ndjson(r.stdout).find((e) => e.type === 'summary') as { ran: number }).ran);
    expect(ran.reduce((a, b) => a + b, 0)).toBe(STAGE_COUNT);
    expect(readFileSync(path.join(dir, 'out/a3.txt'), 'utf8')).toBe('changed\na1\na2\na3\n');
    expect(corruptRecordLines(dir)).toEqual([]);
    // the forced run holds the lock until the file `hold` goes: clean must wait for it, and say so
    writeFileSync(path.join(dir, 'hold'), '');
    const run = pipeAsync(dir, ['run', '-q', '--force']);
    for (let i = 0; i < 500 && !existsSync(path.join(dir, '.pipe/lock')); i++) await new Promise((r) => setTimeout(r, 10));
    const clean = pipeAsync(dir, ['clean']);
    for (let i = 0; i < 500 && !/waiting for pid/.test(clean.output()); i++) await new Promise((r) => setTimeout(r, 10));
    rmSync(path.join(dir, 'hold'));
    const cleaned = await clean.done;
    expect((await run.done).code).toBe(0);
    expect(cleaned.code).toBe(0);
    expect(cleaned.stderr + cleaned.stdout).toMatch(/waiting for pid \d+ \(pipe run/);
    expect(listFiles(path.join(dir, 'out'))).toEqual([]);
  });

  test('a lock held by a dead process is taken over at once', () => {
    const dir = project();
    mkdirSync(path.join(dir, '.pipe'), { recursive: true });
    writeFileSync(path.join(dir, '.pipe/lock'), JSON.stringify({ pid: deadPid(), host: hostname(), started: new Date().toISOString(), command: 'pipe run' }));
    const started = Date.now();
    const r = pipeSync(dir, ['run', '-q'], {}, 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(outputs(dir)).toEqual(outputs(reference));
    expect(existsSync(path.join(dir, '.pipe/lock'))).toBe(false);
  });

  /** a live process that is not a pipe run: what a recycled pid points at */
  async function withUnrelatedProcess(fn: (pid: number) => Promise<void>): Promise<void> {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await fn(sleeper.pid!);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }

  function writeLock(dir: string, holder: Record<string, unknown>): void {
    mkdirSync(path.join(dir, '.pipe'), { recursive: true });
    writeFileSync(path.join(dir, '.pipe/lock'), JSON.stringify({ host: hostname(), command: 'pipe run', ...holder }));
  }

  test.each([
    ['another start time recorded', { start: '1', started: new Date().toISOString() }],
    ['no start time recorded, the process started after the lock was taken', { started: new Date(Date.now() - 3_600_000).toISOString() }],
  ])('a lock whose pid now belongs to an unrelated live process is taken over at once, with a note (%s)', async (_, fields) => {
    await withUnrelatedProcess(async (pid) => {
      const dir = project();
      writeLock(dir, { pid, ...fields });
      const r = await pipeAsync(dir, ['run', '-q']).done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`took over the project lock of pid ${pid} .*pid now belongs to another process`));
      expect(r.stderr).not.toMatch(/waiting for/);
      expect(outputs(dir)).toEqual(outputs(reference));
      expect(existsSync(path.join(dir, '.pipe/lock'))).toBe(false);
    });
  });

  test('a lock of a live process with its own start time is still waited for', async () => {
    const dir = project();
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    writeLock(dir, { pid: process.pid, start, started: new Date().toISOString() });
    const run = pipeAsync(dir, ['run', '-q']);
    for (let i = 0; i < 500 && !/waiting for another run/.test(run.output()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(run.output()).toMatch(new RegExp(`waiting for another run of this project to finish: pid ${process.pid}`));
    expect(JSON.parse(readFileSync(path.join(dir, '.pipe/lock'), 'utf8')).pid).toBe(process.pid);
    rmSync(path.join(dir, '.pipe/lock'));
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/took over/);
  });

  test('an unreadable lock file older than the grace period is taken over', () => {
    const dir = project();
    mkdirSync(path.join(dir, '.pipe'), { recursive: true });
    writeFileSync(path.join(dir, '.pipe/lock'), '{"pid": 12');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(dir, '.pipe/lock'), old, old);
    const r = pipeSync(dir, ['run', '-q'], {}, 20_000);
    expect(r.code, r.stderr).toBe(0);
  });

  test('a run waiting on a run that is then SIGKILLed takes over and completes', async () => {
    const dir = project();
    // `hold` keeps the first run inside its root stage until the second is seen waiting, however loaded the machine
    writeFileSync(path.join(dir, 'hold'), '');
    const first = pipeAsync(dir, ['run', '-q', '-j', '1']);
    for (let i = 0; i < 500 && !existsSync(path.join(dir, '.pipe/lock')); i++) await new Promise((r) => setTimeout(r, 20));
    const second = pipeAsync(dir, ['run']);
    for (let i = 0; i < 1500 && !/waiting for another run/.test(second.output()); i++) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await first.done;
    rmSync(path.join(dir, 'hold'));
    const r = await second.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/waiting for another run/);
    expect(outputs(dir)).toEqual(outputs(reference));
    expect(corruptRecordLines(dir)).toEqual([]);
    expect(tempFilesUnder(path.join(dir, '.pipe'))).toEqual([]);
  });
});
