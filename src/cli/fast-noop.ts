/**
 * The no-op fast path. After a run that left every selected stage up to date, pipe writes a snapshot: the
 * stat of every file those stages read or wrote, as it was when the run hashed it (a file edited after it
 * was hashed, even during the run, leaves no snapshot). The next identical `pipe run` stats them before loading
 * the engine; if nothing moved it reports every stage up to date and exits, in about Node's start-up time.
 * Anything unusual (a lock held, a glob or a fetch stage, an option that changes what runs, a file whose
 * timestamp is too recent to trust) falls back to the normal run, which decides from the content hashes.
 *
 * This module is loaded before everything else: it imports only Node built-ins.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';

declare const __PIPE_BUILD__: string | undefined;
const BUILD_ID = typeof __PIPE_BUILD__ === 'string' ? __PIPE_BUILD__ : 'unbundled';

const SNAPSHOT_DIR = path.join('.pipe', 'noop');
/**
 * A file changed this recently might change again within the same timestamp tick: do not vouch for it.
 * As in the stat cache (src/hash/stat-key.ts): 100 ms with fine timestamps, 2 s with whole seconds.
 */
const RACY_WINDOW_MS = 100;
const COARSE_RACY_WINDOW_MS = 2000;
/** Options that only change how the result is shown. */
const DISPLAY_FLAGS = new Set(['-q', '--quiet', '--json', '--no-color']);
const VALUE_FLAGS = new Set(['-j', '--jobs', '-f', '--file']);

interface Snapshot {
  stages: string[];
  /** absolute paths */
  files: string[];
  /**
   * STAT_FIELDS numbers per file, in the order of `files` (all 0 for a path that must not exist): compared as
   * numbers, so the no-op builds no string per file (at 10,000 files that was a third of its time).
   */
  stats: number[];
  outputsNote?: string;
}

/** dev, ino, size, mtimeMs, ctimeMs, kind (1 file, 2 folder; 0: the path does not exist) */
const STAT_FIELDS = 6;

interface Invocation {
  pipelineFile: string;
  key: string;
  json: boolean;
  quiet: boolean;
}

/** Returns true when it answered the whole command (every stage up to date). */
export function tryFastNoop(argv: string[]): boolean {
  const started = process.hrtime.bigint();
  try {
    const invocation = parseInvocation(argv);
    if (!invocation) return false;
    if (!invocation.json && !invocation.quiet && process.stderr.isTTY) return false;
    const root = path.dirname(invocation.pipelineFile);
    if (existsSync(path.join(root, '.pipe', 'lock'))) return false;
    const snapshot = readSnapshot(root, invocation.key);
    if (!snapshot || !unchanged(snapshot)) return false;
    report(snapshot, invocation, Number((process.hrtime.bigint() - started) / 1_000_000n));
    return true;
  } catch {
    return false;
  }
}

/** What `pipe ... run ...` asks for, when it is a plain run the fast path can answer. */
function parseInvocation(argv: string[]): Invocation | undefined {
  const words = fastPathWords(argv);
  if (!words) return undefined;
  const pipelineFile = words.file ? path.resolve(words.file) : findPipelineFile(process.cwd());
  if (!pipelineFile || !statSync(pipelineFile).isFile()) return undefined; // a FIFO would block the read: the CLI refuses it
  return { pipelineFile, key: snapshotKey(readFileSync(pipelineFile), words.targets), json: words.json, quiet: words.quiet };
}

/** The words of a `pipe run` command line that select what runs, or undefined when the fast path must not answer it. */
export function fastPathWords(argv: string[]): { file?: string; targets: string[]; json: boolean; quiet: boolean } | undefined {
  const args = argv.slice(2);
  const runAt = args.indexOf('run');
  if (runAt < 0) return undefined;
  let file: string | undefined;
  let json = false;
  let quiet = false;
  const meaningful: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (i === runAt) continue;
    if (DISPLAY_FLAGS.has(arg)) {
      json ||= arg === '--json';
      quiet ||= arg === '-q' || arg === '--quiet';
      continue;
    }
    if (VALUE_FLAGS.has(arg)) {
      if (arg === '-f' || arg === '--file') file = args[i + 1];
      i++;
      continue;
    }
    if (/^-j\d+$/.test(arg) || arg.startsWith('--jobs=')) continue;
    if (arg.startsWith('--file=')) {
      file = arg.slice('--file='.length);
      continue;
    }
    if (i < runAt || arg.startsWith('-')) return undefined; // another command's options, or one that changes the run
    meaningful.push(arg);
  }
  return { file, targets: meaningful, json, quiet };
}

function findPipelineFile(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'pipeline.yaml');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function snapshotKey(pipelineText: Uint8Array, targets: string[]): string {
  return createHash('sha256').update(pipelineText).update('\0').update(JSON.stringify(targets)).update(`\0${BUILD_ID}`).digest('hex').slice(0, 32);
}

function readSnapshot(root: string, key: string): Snapshot | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, SNAPSHOT_DIR, `${key}.json`), 'utf8')) as Snapshot;
  } catch {
    return undefined;
  }
}

/**
 * Plain (not bigint) stat: no BigInt garbage on the hot path; sub-microsecond times, and racy files are never vouched for.
 * The float times survive JSON exactly (it writes the shortest text that reads back as the same double).
 */
function unchanged(snapshot: Snapshot): boolean {
  const { files, stats } = snapshot;
  if (!Array.isArray(files) || !Array.isArray(stats) || stats.length !== files.length * STAT_FIELDS) return false;
  for (let i = 0, at = 0; i < files.length; i++, at += STAT_FIELDS) {
    const st = statSync(files[i]!, { throwIfNoEntry: false });
    if (!st) {
      if (stats[at + 5] !== 0) return false;
      continue;
    }
    if (st.mtimeMs !== stats[at + 3] || st.ctimeMs !== stats[at + 4] || st.size !== stats[at + 2] || st.ino !== stats[at + 1] ||
      st.dev !== stats[at] || (st.isDirectory() ? 2 : 1) !== stats[at + 5]) return false;
  }
  return true;
}

function statFields(st: Stats | undefined): number[] {
  return st ? [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, st.isDirectory() ? 2 : 1] : [0, 0, 0, 0, 0, 0];
}

function report(snapshot: Snapshot, invocation: Invocation, ms: number): void {
  if (invocation.json) {
    const lines = snapshot.stages.map((stage) => JSON.stringify({ type: 'stage', stage, status: 'skipped', ms: 0, reason: 'up to date', state: 'fresh' }));
    // `fast`: answered from the snapshot, without loading the engine
    lines.push(JSON.stringify({ type: 'summary', ran: 0, skipped: snapshot.stages.length, restored: 0, failed: 0, notRun: 0, ms, fast: true }));
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const lines = invocation.quiet ? [] : snapshot.stages.map((stage) => `· ${stage}  0ms  up to date`);
  if (snapshot.outputsNote && !invocation.quiet) lines.push(snapshot.outputsNote);
  lines.push(`0 ran, ${snapshot.stages.length} up to date in ${ms}ms`);
  writeStderr(lines.join('\n') + '\n');
}

/**
 * One write to fd 2: creating `process.stderr` (a stream, and the tty or net module behind it) costs more than
 * the rest of a quiet no-op. A descriptor that would block (EAGAIN) or is gone falls back to the stream.
 */
function writeStderr(text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(2, bytes, written);
  } catch {
    process.stderr.write(bytes.subarray(written));
  }
}

// ---- writing, after a run that left every stage up to date ----

export interface SnapshotSource {
  root: string;
  /** the pipeline file's bytes as the run loaded them (not as they are now) */
  pipelineText: Uint8Array;
  /** the words after `run` that select what runs (targets, --set, shorthands) */
  targets: string[];
  stages: string[];
  /**
   * Every path the run's verdicts rest on (deps, outputs, imports; a folder's sub-folders and files), with
   * its stat key when it was hashed: '' for a path that did not exist, anything that matches no stat key
   * for a hash that may not match its stat.
   */
  hashed: Iterable<readonly [abs: string, key: string]>;
  /** the stat key of a path now, in the form of `hashed` */
  currentKey: (abs: string) => string;
  outputsNote?: string;
}

/** Removes every snapshot: call when a run takes the lock, since it may change what they vouch for. */
export function dropSnapshots(root: string): void {
  rmSync(path.join(root, SNAPSHOT_DIR), { recursive: true, force: true });
}

/**
 * Writes the snapshot unless some path changed since it was hashed, or is too recent to vouch for (the
 * next no-op run writes it then). Each path is stat'ed for the snapshot first and compared with its hash
 * time after: a change in between moves ctime, so the second look catches it.
 */
export function writeSnapshot(source: SnapshotSource): boolean {
  const nowMs = Date.now();
  const files = new Map<string, number[]>();
  for (const [abs, hashedKey] of source.hashed) {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st && tooRecent(st, nowMs)) return false;
    if (source.currentKey(abs) !== hashedKey) return false;
    files.set(abs, statFields(st));
  }
  const snapshot: Snapshot = { stages: source.stages, files: [...files.keys()], stats: [...files.values()].flat(), outputsNote: source.outputsNote };
  const dir = path.join(source.root, SNAPSHOT_DIR);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${snapshotKey(source.pipelineText, source.targets)}.json`);
  const temp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`; // tempPathOf (util/atomic.ts) inlined: this module imports only built-ins
  writeFileSync(temp, JSON.stringify(snapshot));
  renameSync(temp, file);
  return true;
}

function tooRecent(st: Stats, nowMs: number): boolean {
  const window = st.mtimeMs % 1000 === 0 ? COARSE_RACY_WINDOW_MS : RACY_WINDOW_MS;
  return st.mtimeMs > nowMs - window || st.ctimeMs > nowMs - window;
}
