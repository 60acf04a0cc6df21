/**
 * A throwaway project for end-to-end tests of the CLI: a temp folder with a pipeline.yaml, and the real
 * `node bin/pipe.js` run in it through execa. The repo root comes from this file's location.
 */
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PIPE_BIN = path.join(REPO_ROOT, 'bin', 'pipe.js');

// bin/pipe.js runs the built dist/ (bundle or tsc output): say so plainly instead of failing every test with an import error
const BUILT = [path.join(REPO_ROOT, 'dist', 'bundle', 'main.js'), path.join(REPO_ROOT, 'dist', 'cli', 'main.js')];
if (!BUILT.some((file) => existsSync(file))) {
  throw new Error(`${REPO_ROOT}/dist is not built: run \`npm run build\` (npm test does) before these tests`);
}

export interface PipeEvent {
  type: string;
  stage?: string;
  status?: 'ran' | 'skipped' | 'restored' | 'failed';
  notRun?: boolean;
  /** the reasons as text (SPEC's field) */
  reason?: string;
  /** the same reasons as data */
  reasons?: { kind: string; subject?: string; before?: string; after?: string; detail?: string }[];
  state?: string;
  tail?: string[];
  log?: string;
  [key: string]: unknown;
}

export interface PipeResult {
  code: number;
  events: PipeEvent[];
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** pass --json and parse NDJSON (default true) */
  json?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Parses NDJSON lines; lines that are not JSON objects are ignored. */
export function parseEvents(stdout: string): PipeEvent[] {
  const events: PipeEvent[] = [];
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    try {
      events.push(JSON.parse(text) as PipeEvent);
    } catch {
      /* not an event */
    }
  }
  return events;
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  // No TTY and CI set: plain output, no colours, no spinner.
  return { CI: '1', NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

export function pipeArgs(args: string[], json: boolean): string[] {
  return json ? ['--json', ...args] : args;
}

export class TestProject {
  constructor(readonly dir: string) {}

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(rel: string, content: string): void {
    const file = this.path(rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** lines of a side-channel file (empty when absent) */
  lines(rel: string): string[] {
    if (!this.exists(rel)) return [];
    return this.read(rel).split('\n').filter((l) => l.length > 0);
  }

  stat(rel: string): { ino: number; mtimeNs: bigint } {
    const s = statSync(this.path(rel), { bigint: true });
    return { ino: Number(s.ino), mtimeNs: s.mtimeNs };
  }

  pipeline(yaml: string): void {
    this.write('pipeline.yaml', yaml);
  }

  /** Starts `pipe ARGS` in the project without waiting (for signals and concurrency). */
  start(args: string[], opts: RunOptions = {}): ResultPromise {
    return execa('node', [PIPE_BIN, ...pipeArgs(args, opts.json ?? true)], {
      cwd: this.dir,
      env: baseEnv(opts.env),
      reject: false,
      timeout: opts.timeoutMs ?? 30_000,
      stdin: 'ignore',
    });
  }

  /** Runs `pipe ARGS` to completion. */
  async pipe(args: string[], opts: RunOptions = {}): Promise<PipeResult> {
    return toResult(await this.start(args, opts));
  }

  run(...args: string[]): Promise<PipeResult> {
    return this.pipe(['run', ...args]);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function toResult(result: { exitCode?: number; stdout?: unknown; stderr?: unknown }): PipeResult {
  const stdout = String(result.stdout ?? '');
  return { code: result.exitCode ?? -1, events: parseEvents(stdout), stdout, stderr: String(result.stderr ?? '') };
}

/** A fresh temp project with this pipeline.yaml and these extra files. */
/** A project maker for one test file: every project it made is removed after the file's tests. */
export function projectsRemovedAfterAll(): (yaml: string, files?: Record<string, string>) => TestProject {
  const projects: TestProject[] = [];
  afterAll(() => {
    for (const p of projects.splice(0)) p.remove();
  });
  return (yaml, files = {}) => {
    const p = makeProject(yaml, files);
    projects.push(p);
    return p;
  };
}

export function makeProject(yaml: string, files: Record<string, string> = {}): TestProject {
  const project = new TestProject(mkdtempSync(path.join(tmpdir(), 'pipe-e2e-')));
  project.pipeline(yaml);
  for (const [rel, content] of Object.entries(files)) project.write(rel, content);
  return project;
}

/** Stage events (type "stage") keyed by stage name. */
export function stageEvents(result: PipeResult): Record<string, PipeEvent> {
  const byStage: Record<string, PipeEvent> = {};
  for (const e of result.events) if (e.type === 'stage' && e.stage) byStage[e.stage] = e;
  return byStage;
}

/** stage name -> status, for compact assertions. */
export function statuses(result: PipeResult): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, e] of Object.entries(stageEvents(result))) out[name] = e.status;
  return out;
}

export function summary(result: PipeResult): PipeEvent | undefined {
  return result.events.find((e) => e.type === 'summary');
}

/** Waits until a file exists (polling), or throws after timeoutMs. */
export async function waitForFile(file: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when a process with this pid exists (and is not a zombie we could still signal). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The result when pipe exited with `code`; otherwise an error that shows what pipe printed. */
export function expectExit(result: PipeResult, code: number): PipeResult {
  if (result.code !== code) {
    throw new Error(`pipe exited ${result.code}, expected ${code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

export const ok = (result: PipeResult): PipeResult => expectExit(result, 0);
