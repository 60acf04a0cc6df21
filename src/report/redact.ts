/**
 * The secrets pipe knows of (the Hugging Face token from the environment or its token files, the team
 * cache's token and signing secret), and their removal from everything pipe prints or stores: reporter
 * output (terminal, plain, NDJSON), error messages, stage logs under .pipe/logs, state.log, .pipe/compiled.
 * A stage can read them from its environment and print them; what pipe keeps of that output never has them.
 */
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { tempPathOf, writeAll } from '../util/atomic.js';
import path from 'node:path';
import type { JobEvent, ProgressEvent, Reason, Reporter, StageEvent, SummaryEvent } from './events.js';
import { urlCredentials } from '../remote/endpoint.js';

export const SECRET_VARIABLES = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'PIPE_REMOTE_CACHE_TOKEN', 'PIPE_REMOTE_CACHE_SECRET'] as const;
/** project-relative files holding a token in their first line (see src/fetch/context.ts) */
export const SECRET_FILES = ['config/hf-token', '.cache/huggingface/token'] as const;

/** Shorter values are not taken for secrets: masking every "1" or "abc" would mangle all output. */
const MIN_SECRET_LENGTH = 6;
export const MASK = '***';
const CHUNK = 1024 * 1024;

export class Redactor {
  /** each secret as the latin1 text of its UTF-8 bytes, to match inside files read byte for byte */
  private readonly asBytes: string[];
  private readonly longest: number;

  constructor(readonly secrets: readonly string[]) {
    this.secrets = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
    this.asBytes = this.secrets.map((s) => Buffer.from(s, 'utf8').toString('latin1'));
    this.longest = Math.max(0, ...this.asBytes.map((s) => s.length));
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  has(text: string): boolean {
    return this.secrets.some((s) => text.includes(s));
  }

  text(text: string): string {
    return this.has(text) ? replaceAll(text, this.secrets) : text;
  }

  lines(lines: readonly string[]): string[] {
    return lines.map((l) => this.text(l));
  }

  /** Rewrites a file (a stage log) with its secrets masked; reads it in chunks, rewrites only when needed. */
  file(file: string): void {
    if (this.empty || !this.fileHasSecret(file)) return;
    const temp = tempPathOf(file);
    const input = openSync(file, 'r');
    const output = openSync(temp, 'w');
    try {
      let carry = '';
      for (const chunk of chunks(input)) {
        const replaced = replaceAll(carry + chunk, this.asBytes);
        const keep = Math.min(replaced.length, this.longest - 1);
        writeAll(output, Buffer.from(replaced.slice(0, replaced.length - keep), 'latin1'));
        carry = replaced.slice(replaced.length - keep);
      }
      writeAll(output, Buffer.from(carry, 'latin1'));
      closeSync(output);
      renameSync(temp, file);
    } catch {
      closeSync(output);
      rmSync(temp, { force: true });
    } finally {
      closeSync(input);
    }
  }

  private fileHasSecret(file: string): boolean {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return false;
    }
    try {
      let carry = '';
      for (const chunk of chunks(fd)) {
        const text = carry + chunk;
        if (this.asBytes.some((s) => text.includes(s))) return true;
        carry = text.slice(Math.max(0, text.length - (this.longest - 1)));
      }
      return false;
    } finally {
      closeSync(fd);
    }
  }
}

function* chunks(fd: number): Generator<string> {
  const buffer = Buffer.alloc(CHUNK);
  for (;;) {
    const read = readSync(fd, buffer, 0, CHUNK, null);
    if (read <= 0) return;
    yield buffer.toString('latin1', 0, read);
  }
}

function replaceAll(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join(MASK);
  return result;
}

const byRoot = new Map<string, Redactor>();

/** The secrets of this process and project (the environment and the token files do not change during a command). */
export function redactorFor(root: string | undefined): Redactor {
  const key = root ?? '';
  let redactor = byRoot.get(key);
  if (!redactor) {
    const fromEnv = SECRET_VARIABLES.map((name) => process.env[name]?.trim() ?? '');
    const fromFiles = root ? SECRET_FILES.map((rel) => firstLine(path.join(root, rel))) : [];
    byRoot.set(key, (redactor = new Redactor([...fromEnv, ...fromFiles, ...remoteCacheCredentials()])));
  }
  return redactor;
}

/** user:password in the team cache's URL (PIPE_REMOTE_CACHE or --remote-cache): masked like a token. */
function remoteCacheCredentials(): string[] {
  const urls = [process.env.PIPE_REMOTE_CACHE ?? ''];
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--remote-cache') urls.push(argv[i + 1] ?? '');
    else if (argv[i]!.startsWith('--remote-cache=')) urls.push(argv[i]!.slice('--remote-cache='.length));
  }
  return urls.flatMap(urlCredentials);
}

function firstLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/)[0]?.trim() ?? '';
  } catch {
    return '';
  }
}

/** Every reporter is wrapped in this: whatever a stage printed reaches no output unmasked. */
export function redactingReporter(inner: Reporter, redactor: Redactor): Reporter {
  if (redactor.empty) return inner;
  const event = (e: StageEvent): StageEvent => ({
    ...e,
    reasons: redactReasons(e.reasons, redactor),
    ...(e.log === undefined ? {} : { log: redactor.text(e.log) }),
    ...(e.tail === undefined ? {} : { tail: redactor.lines(e.tail) }),
  });
  return {
    plan: (stages, dryRun) => inner.plan(stages, dryRun),
    start: (stage, reasons) => inner.start(stage, redactReasons(reasons, redactor)),
    finish: (e) => inner.finish(event(e)),
    progress: (e: ProgressEvent) => inner.progress({ ...e, file: redactor.text(e.file) }),
    note: (text) => inner.note(redactor.text(text)),
    summary: (s: SummaryEvent) => inner.summary(s),
    ...(inner.job ? { job: (e: JobEvent) => inner.job!({ ...e, text: redactor.text(e.text) }) } : {}),
    ...(inner.output ? { output: (stage: string, file: string) => inner.output!(stage, file) } : {}),
  };
}

function redactReasons(reasons: Reason[], redactor: Redactor): Reason[] {
  return reasons.map((r) => {
    const masked: Reason = { kind: r.kind };
    for (const field of ['subject', 'before', 'after', 'detail'] as const) if (r[field] !== undefined) masked[field] = redactor.text(r[field]);
    return masked;
  });
}

/**
 * The last line of defence for what no reporter sees (explain, status, list, errors): text written to stdout
 * and stderr has its secrets masked. Binary writes (a PNG graph) pass through untouched.
 */
export function redactStandardStreams(redactor: Redactor): void {
  if (redactor.empty) return;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? redactor.text(chunk) : chunk, ...rest)) as typeof stream.write;
  }
}
