/**
 * What the reliability suite adds to the one test harness (tests/helpers/pipe-project.ts, which names the
 * repo, the bundled CLI and parses NDJSON): synchronous runs for crash and signal tests, a seeded RNG, state checks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { parseEvents, PIPE_BIN, REPO_ROOT } from '../helpers/pipe-project.js';

export { PIPE_BIN };
export const REPO = REPO_ROOT;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh project folder under the system temp dir; removed by the returned cleanup. */
export function tempProject(prefix: string, files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), `pipe-rel-${prefix}-`));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `pipe ARGS` in cwd and waits for it. */
export function pipeSync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: timeoutMs,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function pipeAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult>; exited: Promise<void>; output: () => string } {
  const child = spawn(process.execPath, [PIPE_BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  // 'close' waits for stdout/stderr to close, which orphaned stage processes holding them can delay
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, done, exited, output: () => stdout + stderr };
}

/** mulberry32: small, fast, reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** Every file below dir (relative POSIX paths), symlinks not followed. */
export function listFiles(dir: string, skip: (rel: string) => boolean = () => false, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    const rel = path.relative(base, abs).split(path.sep).join('/');
    if (skip(rel)) continue;
    if (lstatSync(abs).isDirectory()) out.push(...listFiles(abs, skip, base));
    else out.push(rel);
  }
  return out.sort();
}

/** Lines of .pipe/state.log that fail their checksum. A torn final line without a newline is allowed. */
export function corruptRecordLines(projectDir: string): string[] {
  const file = path.join(projectDir, '.pipe/state.log');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const last = lines.pop(); // '' when the file ends with a newline; else a torn line, allowed
  void last;
  return lines.filter((raw) => {
    if (raw.length < 10 || raw[8] !== ' ') return true;
    const json = raw.slice(9);
    if (crc32(json).toString(16).padStart(8, '0') !== raw.slice(0, 8)) return true;
    try {
      JSON.parse(json);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Names pipe gives its temporary files: `X.tmp-PID-hex`, `.X.tmp-PID-hex`, `lock.PID.rand`, `lock.stale.PID.rand`; and any
 * other `.tmp-PID...` name, which recovery would not sweep (a writer that strays from the form is a leftover found here).
 */
export const TEMP_NAME = /\.tmp-\d+|^lock\.(stale\.)?\d+\.[0-9a-z]+$/;

export function tempFilesUnder(dir: string): string[] {
  return listFiles(dir).concat(listDirs(dir)).filter((rel) => TEMP_NAME.test(path.posix.basename(rel)));
}

function listDirs(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    if (!lstatSync(abs).isDirectory()) continue;
    out.push(path.relative(base, abs).split(path.sep).join('/'), ...listDirs(abs, base));
  }
  return out;
}

/** Running, not a zombie: the engine's own check (an orphan's exit is not reaped by every init). */
export { isAlive } from '../../src/util/alive.js';

/** Lines of a message that look like a JavaScript stack frame or an internal error. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at .+[(:]/.test(l) || /internal error/i.test(l));
}

export function ndjson(stdout: string): Record<string, unknown>[] {
  return parseEvents(stdout);
}
