/**
 * pipe run --watch through the real CLI: a synthetic pipeline (a -> b, c independent), NDJSON events read
 * from stdout as they arrive, real file edits, SIGINT at the end.
 */
import type { ResultPromise } from 'execa';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { makeProject, parseEvents, type PipeEvent, type TestProject } from './helpers/pipe-project.js';

const PIPELINE = `version: 1
stages:
  a:
    # with a 'hold' file present, a waits for 'go' (to change a dep while it runs)
    cmd: if [ -f hold ]; then touch started; while [ ! -f go ]; do sleep 0.02; done; fi; cat src/a.txt > out/a.txt
    deps: [src/a.txt]
    outs: [out/a.txt]
  b:
    cmd: cat out/a.txt data/*.csv > out/b.txt
    deps: [out/a.txt, "data/*.csv"]
    outs: [out/b.txt]
  c:
    cmd: cat src/c.txt > out/c.txt
    deps: [src/c.txt]
    outs: [out/c.txt]
`;

const projects: TestProject[] = [];
afterAll(() => {
  for (const p of projects.splice(0)) p.remove();
});

/** A running `pipe --json run --watch`, its NDJSON events as they arrive and its stderr. */
class Watching {
  events: PipeEvent[] = [];
  stderr = '';
  private stdout = '';
  constructor(readonly child: ResultPromise) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.events = parseEvents(this.stdout.slice(0, this.stdout.lastIndexOf('\n') + 1));
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  /** After the first run: waits until the watcher is ready (the `watching` event). */
  async ready(): Promise<PipeEvent> {
    await expect.poll(() => this.events.some((e) => e.type === 'watching'), { timeout: 10_000, interval: 20 }).toBe(true);
    return this.events.find((e) => e.type === 'watching')!;
  }

  summaries(): PipeEvent[] {
    return this.events.filter((e) => e.type === 'summary');
  }

  /** Waits for the n-th summary line, then returns the stage events of that run: name -> status. */
  async run(n: number): Promise<Record<string, string | undefined>> {
    await expect.poll(() => this.summaries().length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(n);
    return this.statusesOfRun(n);
  }

  statusesOfRun(n: number): Record<string, string | undefined> {
    const ends = this.events.flatMap((e, i) => (e.type === 'summary' ? [i] : []));
    const from = n === 1 ? 0 : ends[n - 2]! + 1;
    const out: Record<string, string | undefined> = {};
    for (const e of this.events.slice(from, ends[n - 1])) if (e.type === 'stage' && e.stage) out[e.stage] = e.status;
    return out;
  }

  async stop(): Promise<number> {
    this.child.kill('SIGINT');
    return (await this.child).exitCode ?? -1;
  }
}

function project(): TestProject {
  const p = makeProject(PIPELINE, { 'src/a.txt': 'a1\n', 'src/c.txt': 'c1\n', 'data/x.csv': 'x\n' });
  projects.push(p);
  return p;
}

function watch(p: TestProject, targets = ['a', 'b', 'c']): Watching {
  return new Watching(p.start(['run', ...targets, '--watch'], { timeoutMs: 30_000 }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pipe run --watch', () => {
  test('an edit reruns exactly what it affects; outputs trigger nothing; a new file matching a glob counts; Ctrl-C exits 130', async () => {
    const p = project();
    const w = watch(p);
    expect(await w.run(1)).toEqual({ a: 'ran', b: 'ran', c: 'ran' });
    expect((await w.ready()).paths).toEqual(expect.arrayContaining(['src/a.txt', 'data', 'src/c.txt', 'pipeline.yaml']));
    expect(w.stderr).toMatch(/watching .* Ctrl-C to stop/);

    p.write('src/a.txt', 'a2\n');
    const second = await w.run(2);
    expect(second).toEqual({ a: 'ran', b: 'ran' });
    expect(p.read('out/b.txt')).toBe('a2\nx\n');

    // a and b just wrote out/a.txt and out/b.txt (out/a.txt is b's dep, so it is watched): no new run
    await sleep(1500);
    expect(w.summaries()).toHaveLength(2);
    expect(w.events).toHaveLength(w.events.findLastIndex((e) => e.type === 'summary') + 1);

    p.write('data/y.csv', 'y\n');
    const third = await w.run(3);
    expect(third.b).toBe('ran');
    expect(third.a).not.toBe('ran');
    expect(third.c).toBeUndefined();
    expect(p.read('out/b.txt')).toBe('a2\nx\ny\n');

    // a file that matches no dep triggers nothing
    p.write('data/notes.txt', 'hello\n');
    p.write('src/other.txt', 'hello\n');
    await sleep(800);
    expect(w.summaries()).toHaveLength(3);

    expect(await w.stop()).toBe(130);
  });

  test('a change during a run waits for the running stage to finish, then runs again', async () => {
    const p = project();
    const w = watch(p, ['a']);
    await w.run(1);
    await w.ready();
    p.write('hold', '');
    p.write('src/a.txt', 'a2\n');
    await expect.poll(() => p.exists('started'), { timeout: 10_000, interval: 20 }).toBe(true);
    p.write('src/a.txt', 'a3\n'); // while a runs
    await sleep(500);
    expect(w.summaries()).toHaveLength(1); // a is still running: nothing else started
    rmSync(p.path('hold'));
    p.write('go', '');
    expect(await w.run(2)).toEqual({ a: 'ran' });
    expect(await w.run(3)).toEqual({ a: 'ran' });
    expect(p.read('out/a.txt')).toBe('a3\n');
    await sleep(600);
    expect(w.summaries()).toHaveLength(3);
    expect(await w.stop()).toBe(130);
  });

  test('an edit to pipeline.yaml reloads it; an invalid one is reported and watching goes on', async () => {
    const p = project();
    const w = watch(p);
    await w.run(1);
    await w.ready();

    p.pipeline(PIPELINE.replace('cat src/c.txt > out/c.txt', 'cat src/c.txt src/c.txt > out/c.txt'));
    const second = await w.run(2);
    expect(second.c).toBe('ran');
    expect(Object.values(second).filter((s) => s === 'ran')).toEqual(['ran']);
    expect(p.read('out/c.txt')).toBe('c1\nc1\n');

    p.pipeline(PIPELINE + '  broken: [\n');
    await expect.poll(() => w.stderr, { timeout: 10_000, interval: 20 }).toMatch(/pipeline\.yaml:\d+.*\n.*still watching/);
    expect(w.summaries()).toHaveLength(2);

    // the last good pipeline is still watched, and fixing the file reloads it
    p.write('src/c.txt', 'c2\n');
    expect((await w.run(3)).c).toBe('ran');
    p.pipeline(PIPELINE);
    expect((await w.run(4)).c).toBe('ran');
    expect(p.read('out/c.txt')).toBe('c2\n');
    expect(await w.stop()).toBe(130);
  });
});

describe('pipe run --watch with a foreach over a glob', () => {
  test('a new file matching the glob reloads the pipeline and runs the new job only', async () => {
    const p = makeProject(`version: 1
vars: {films: "in/*.txt"}
stages:
  shout:
    foreach: films
    cmd: [sh, -c, "tr a-z A-Z < \\"$0\\" > \\"$1\\"", "\${item}", "out/\${job}.txt"]
    deps: ["\${item}"]
    outs: ["out/\${job}.txt"]
`, { 'in/one.txt': 'one\n' });
    projects.push(p);
    const w = new Watching(p.start(['run', 'shout', '--watch'], { timeoutMs: 30_000 }));
    expect(Object.values(await w.run(1))).toEqual(['ran']);
    await w.ready();
    p.write('in/two.txt', 'two\n');
    const second = await w.run(2);
    expect(Object.entries(second).filter(([, s]) => s === 'ran').map(([n]) => n)).toEqual([expect.stringMatching(/^shout@two-/)]);
    expect(Object.keys(second)).toHaveLength(2);
    expect(await w.stop()).toBe(130);
  });
});
