/**
 * The runner seam: the builder only calls the runner the CLI built, tells it the stage, and never runs more
 * than the runner's capacity at once; and one local behaviour whichever process strategy runs underneath.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { execute } from '../../src/exec/execute.js';
import type { StageJob, StageRunner } from '../../src/exec/runner.js';
import { openEngine } from '../../src/plan/context.js';
import { selectStages } from '../../src/cli/session.js';
import { openProject } from '../../src/project.js';
import type { Reporter, StageEvent } from '../../src/report/events.js';
import { expectExit, isAlive, ok, projectsRemovedAfterAll, stageEvents, statuses, toResult, waitForFile } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

function collector(events: StageEvent[]): Reporter {
  return { plan() {}, start() {}, finish: (e) => void events.push(e), progress() {}, note() {}, summary: async () => {} };
}

const FOUR_INDEPENDENT = `version: 1
env: {GREETING: hello}
stages:
${['a', 'b', 'c', 'd'].map((n) => `  ${n}:\n    cmd: make ${n}\n    outs: [${n}.txt]\n    resources: {cpu: ${n === 'd' ? 2 : 1}, mem: 1G}\n`).join('')}`;

describe('a fake runner through the builder', () => {
  test('gets each stage with its resources, log and environment, and never more at once than its capacity', async () => {
    const p = project(FOUR_INDEPENDENT);
    const jobs: StageJob[] = [];
    let running = 0;
    let most = 0;
    const fake: StageRunner = {
      name: 'fake',
      capacity: { cpu: 2, gpu: 0, mem: 2 ** 40 },
      run: async (job) => {
        jobs.push(job);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 30));
        mkdirSync(path.dirname(job.logFile), { recursive: true });
        writeFileSync(path.join(job.cwd, job.stage.outs[0]!), `${job.stage.name} ${job.env.GREETING}\n`);
        running--;
        return { exitCode: 0, interrupted: false, tail: [] };
      },
    };
    const loaded = await openProject(p.path('pipeline.yaml'), {});
    const events: StageEvent[] = [];
    const result = await execute(openEngine(loaded), selectStages(loaded, []), {
      keepGoing: false, force: new Set(), offline: true, noNetwork: false, signal: new AbortController().signal, runner: fake,
    }, collector(events));

    expect(result.counts.ran).toBe(4);
    expect(jobs.map((j) => j.stage.name).sort()).toEqual(['a', 'b', 'c', 'd']);
    const d = jobs.find((j) => j.stage.name === 'd')!;
    expect(d.stage.resources).toEqual({ cpu: 2, gpu: 0, mem: 2 ** 30 });
    expect(d.cmd).toBe('make d');
    expect(d.logFile).toBe(p.path('.pipe/logs/d.log'));
    expect(d.env).toMatchObject({ PIPE_STAGE: 'd', PIPE_CPUS: '2', GREETING: 'hello' });
    expect(most).toBe(2); // cpu 2: two one-cpu stages at once, and d (cpu 2) alone
    expect(p.read('a.txt')).toBe('a hello\n');
  });

  test('a runner that demands one slot per stage (as a scheduler does) runs up to its capacity at once', async () => {
    const p = project(FOUR_INDEPENDENT);
    let running = 0;
    let most = 0;
    const slots: StageRunner = {
      name: 'slots',
      capacity: { cpu: 4, gpu: 0, mem: 0 },
      demand: () => ({ cpu: 1, gpu: 0, mem: 0 }),
      run: async (job) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 50));
        writeFileSync(path.join(job.cwd, job.stage.outs[0]!), 'x');
        running--;
        return { exitCode: 0, interrupted: false, tail: [] };
      },
    };
    const loaded = await openProject(p.path('pipeline.yaml'), {});
    await execute(openEngine(loaded), selectStages(loaded, []), {
      keepGoing: false, force: new Set(), offline: true, noNetwork: false, signal: new AbortController().signal, runner: slots,
    }, collector([]));
    expect(most).toBe(4); // memory 0 and d's cpu 2 do not hold anything back: one slot each
  });
});

/** The ways the local runner can start a stage: long-lived shell workers (setsid gives each stage its group), or a spawn each. */
const STRATEGY_ENV = {
  'shell-pool': { PIPE_LOCAL_STRATEGY: 'shell-pool' },
  spawn: { PIPE_LOCAL_STRATEGY: 'spawn' },
} as const;
type Strategy = keyof typeof STRATEGY_ENV;

describe('one local behaviour whichever process strategy', () => {
  const strategies = Object.keys(STRATEGY_ENV) as Strategy[];

  test.each(strategies)('%s: a killed stage is worded the same (signal and exit status)', async (strategy) => {
    const p = project(`version: 1
stages:
  killed:
    cmd: kill -KILL $$
    outs: [never.txt]
  exits:
    cmd: exit 137
    outs: [never2.txt]
`);
    const r = expectExit(await p.pipe(['run', '-k'], { env: STRATEGY_ENV[strategy] }), 1);
    expect(stageEvents(r).killed?.reason).toBe('command failed (killed by SIGKILL (exit 137))');
    expect(stageEvents(r).exits?.reason).toBe('command failed (killed by SIGKILL (exit 137))');
  });

  test.each(strategies)('%s: what a stage leaves running in the background is stopped when the stage ends, not at the end of the run', async (strategy) => {
    // `watch` runs after `daemon` and fails if daemon's background sleep is still alive 3 s after daemon ended
    const p = project(`version: 1
stages:
  daemon:
    cmd: sleep 30 & echo $! > bg.pid; echo > out.txt
    outs: [out.txt]
  watch:
    cmd: i=0; while kill -0 "$(cat bg.pid)" 2>/dev/null; do i=$((i+1)); [ $i -gt 60 ] && exit 9; sleep 0.05; done; echo gone > watched.txt
    deps: [out.txt]
    outs: [watched.txt]
`);
    const r = ok(await p.pipe(['run', '-j', '1'], { env: STRATEGY_ENV[strategy] }));
    expect(statuses(r)).toEqual({ daemon: 'ran', watch: 'ran' });
    expect(isAlive(Number(p.read('bg.pid').trim()))).toBe(false);
  });

  test.each(strategies)('%s: a stage that is stopped and continued runs on to its end (a stop is not an exit)', async (strategy) => {
    // the stage stops itself; the test continues it once it is seen stopped
    const p = project(`version: 1
stages:
  pauses:
    cmd: echo $$ > stage.pid; kill -STOP $$; echo resumed > out.txt
    outs: [out.txt]
`);
    const child = p.start(['run'], { env: STRATEGY_ENV[strategy] });
    await waitForFile(p.path('stage.pid'));
    const pid = Number(p.read('stage.pid').trim());
    await expect.poll(() => processState(pid), { timeout: 5000, interval: 20 }).toBe('T');
    process.kill(pid, 'SIGCONT');
    const r = ok(toResult(await child));
    expect(statuses(r)).toEqual({ pauses: 'ran' });
    expect(p.read('out.txt')).toBe('resumed\n');
  });

  test.each(strategies)('%s: a stage that signals its own group (`kill 0`, `kill -9 0`) ends itself, not the stages after it', async (strategy) => {
    const p = project(`version: 1
stages:
  term:
    cmd: kill 0; echo never > never.txt
    outs: [never.txt]
  kill9:
    cmd: kill -9 0
    outs: [never2.txt]
  after:
    cmd: echo fine > after.txt
    outs: [after.txt]
`);
    const r = expectExit(await p.pipe(['run', '-k', '-j', '1'], { env: STRATEGY_ENV[strategy] }), 1);
    expect(stageEvents(r).term?.reason).toBe('command failed (killed by SIGTERM (exit 143))');
    expect(stageEvents(r).kill9?.reason).toBe('command failed (killed by SIGKILL (exit 137))');
    expect(statuses(r).after).toBe('ran');
    expect(p.read('after.txt')).toBe('fine\n');
    expect(r.stderr).not.toMatch(/Terminated|Killed/); // a shell's own word for it, not pipe's
  });

  test.each(strategies)('%s: a stage starts with no signal ignored, so Ctrl-C and SIGQUIT reach what it runs', async (strategy) => {
    const p = project(`version: 1
stages:
  signals:
    cmd: grep '^SigIgn' /proc/self/status > ignored.txt
    outs: [ignored.txt]
`);
    ok(await p.pipe(['run'], { env: STRATEGY_ENV[strategy] }));
    expect(p.read('ignored.txt')).toMatch(/^SigIgn:\s+0+\n$/);
  });

  test.each(strategies)('%s: variables named like the shell worker\'s own (line, c, nl) reach every kind of stage as declared, and the worker\'s never do', async (strategy) => {
    const grep = "env | grep -E '^(line|c|nl)=' | sort";
    const p = project(`version: 1
env: {line: 'a line', c: '1'}
stages:
  plain:
    cmd: ${grep} > plain.txt
    outs: [plain.txt]
  own-shell:
    cmd: echo $$ >/dev/null; ${grep} > own-shell.txt
    outs: [own-shell.txt]
  argv:
    cmd: [sh, -c, "${grep} > argv.txt"]
    outs: [argv.txt]
`);
    ok(await p.pipe(['run', '-j', '1'], { env: STRATEGY_ENV[strategy] }));
    for (const file of ['plain.txt', 'own-shell.txt', 'argv.txt']) expect(p.read(file)).toBe('c=1\nline=a line\n');
  });

  test('a stage sees the same environment whichever strategy starts it, and the user\'s bash setup never runs in a worker', async () => {
    const seen: Record<string, string> = {};
    for (const strategy of strategies) {
      const p = project(`version: 1
env: {line: 'a line', c: '1', nl: two words} # named like the shell worker's own variables
stages:
  env:
    cmd: env | grep -v '^_=' | sort > env.txt
    outs: [env.txt]
`, { 'bash-env.sh': 'echo sourced >> "$PIPE_ROOT/sourced.txt"\n' });
      const userShell = {
        SHLVL: '3',
        BASH_ENV: p.path('bash-env.sh'),
        'BASH_FUNC_kill%%': '() { echo hijacked; }', // an exported function named like a worker builtin
        'BASH_FUNC_echo%%': '() { :; }',
      };
      ok(await p.pipe(['run'], { env: { ...STRATEGY_ENV[strategy], ...userShell } }));
      expect(p.exists('sourced.txt')).toBe(false);
      seen[strategy] = p.read('env.txt').replaceAll(p.path(''), 'ROOT/').split('\n')
        .filter((line) => !/^(PIPE_LOCAL_STRATEGY|OLDPWD|BASH_FUNC_)/.test(line)).join('\n');
      expect(seen[strategy]).toContain('SHLVL=3\n');
      expect(seen[strategy]).toMatch(/^c=1\n(.|\n)*^line=a line\n(.|\n)*^nl=two words\n/m);
    }
    expect(seen['shell-pool']).toBe(seen.spawn);
  });
});

/** The state letter of /proc/PID/stat (R, S, T for stopped, Z...). */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return undefined;
  }
}
