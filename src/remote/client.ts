/**
 * HTTP to the team cache (Bazel's HTTP-cache layout: GET/HEAD/PUT `cas/<sha256>` and `ac/<key>`), with
 * Node's fetch. Every request has a deadline and a stall timeout; network errors, 5xx and 429 are retried a
 * bounded number of times with exponential backoff; a download that drops mid-body resumes with Range.
 * Bodies stream: a blob is never held whole in memory. Credentials go only in the Authorization header.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RemoteEndpoint } from './endpoint.js';
import { streamDigests, type StreamDigests } from './stream-digests.js';
import { send, type Reply } from './transport.js';

export interface ClientOptions {
  /** attempts after the first */
  retries: number;
  /** the first backoff; doubled each time */
  backoffMs: number;
  /** no byte for this long: the attempt fails */
  stallMs: number;
  signal?: AbortSignal;
}

export const DEFAULT_CLIENT: ClientOptions = { retries: 2, backoffMs: 150, stallMs: 10_000 };

/** The server gave a status pipe does not retry (401, 403, 400...), or kept failing: the cache is not usable now. */
export class RemoteError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** What came back is not what was asked for (a blob altered on the server, a truncated response). */
export class BlobMismatch extends Error {}

/** A downloaded blob: its SHA-256 was checked; `digest` is its local (xxh128) digest, computed as it streamed. */
export interface Downloaded {
  digest: string;
  bytes: number;
}

const MAX_JSON_BYTES = 64 << 20;
const WRITE_BATCH = 1 << 20;
/** positioned writes of one download queued at once (each a buffer of stream-digests' size) */
const WRITES_IN_FLIGHT = 4;

export class CacheClient {
  constructor(readonly endpoint: RemoteEndpoint, private readonly opts: ClientOptions = DEFAULT_CLIENT) {}

  /** True when the server holds `rel` (200), false on 404. */
  async exists(rel: string): Promise<boolean> {
    return this.retrying(`HEAD ${rel}`, async (signal) => {
      const res = await this.send('HEAD', rel, signal);
      res.discard();
      if (res.status === 404) return false;
      this.check(res, rel);
      return true;
    });
  }

  /** A small JSON document (a stage record), or undefined on 404. */
  async getText(rel: string): Promise<string | undefined> {
    return (await this.getBytes(rel, MAX_JSON_BYTES))?.toString('utf8');
  }

  /** A small blob held in memory, checked against its size and SHA-256 (BlobMismatch when it is not that). */
  async getBlob(sha256: string, size: number): Promise<Buffer> {
    const rel = `cas/${sha256}`;
    const data = await this.getBytes(rel, size);
    if (data === undefined) throw new BlobMismatch(`${rel} is not on the server`);
    if (data.length !== size) throw new BlobMismatch(`${rel} is ${data.length} bytes on the server, not ${size} (altered on the server?)`);
    if (createHash('sha256').update(data).digest('hex') !== sha256) throw new BlobMismatch(`${rel} does not match its SHA-256 (altered on the server?)`);
    return data;
  }

  /** The whole body of `rel` (at most `max` bytes), or undefined on 404. */
  private async getBytes(rel: string, max: number): Promise<Buffer | undefined> {
    return this.retrying(`GET ${rel}`, async (signal) => {
      const res = await this.send('GET', rel, signal);
      if (res.status === 404) {
        res.discard();
        return undefined;
      }
      this.check(res, rel);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of stalling(res, signal, this.opts.stallMs)) {
        size += chunk.length;
        if (size > max) throw new BlobMismatch(`${rel} is larger than the ${max} bytes expected`);
        chunks.push(chunk);
      }
      const declared = res.header('content-length') ?? null;
      if (declared !== null && Number(declared) !== size) throw Object.assign(new Error(`${rel}: the response ended after ${size} of ${declared} bytes`), { code: 'ECONNRESET' });
      return Buffer.concat(chunks, size);
    });
  }

  /**
   * Streams `cas/<sha256>` into `dest` (created or resumed), and the same bytes into each of `copies` (an
   * output being restored: written in the same pass instead of copied afterwards), hashing on the way;
   * BlobMismatch when its size or SHA-256 is not what the record says. A retry after a dropped connection
   * asks for the rest with Range, and starts over if the server answers with the whole blob.
   */
  async download(sha256: string, size: number, dest: string, onBytes?: (n: number) => void, copies: string[] = []): Promise<Downloaded> {
    const rel = `cas/${sha256}`;
    const targets = [dest, ...copies];
    const files = await Promise.all(targets.map((t) => open(t, 'w')));
    const digests = await streamDigests(size);
    /** bytes on disk in every target and hashed: where a resume starts */
    let offset = 0;
    try {
      await this.retrying(`GET ${rel}`, async (signal) => {
        const res = await this.send('GET', rel, signal, offset > 0 ? { range: `bytes=${offset}-` } : {});
        if (res.status === 404) {
          res.discard();
          throw new BlobMismatch(`${rel} is not on the server`);
        }
        this.check(res, rel);
        if (res.status !== 206 && offset > 0) {
          await digests.reset();
          await Promise.all(files.map((f) => f.truncate(0)));
          offset = 0;
        }
        await this.receive(res, signal, rel, size, offset, files, digests, (n) => {
          offset += n;
          onBytes?.(n);
        });
        if (offset < size) {
          // a whole response that is shorter than the record says: the server holds something else
          if (res.status === 200 && Number(res.header('content-length')) === offset) throw new BlobMismatch(`${rel} is ${offset} bytes on the server, not ${size} (altered on the server?)`);
          throw Object.assign(new Error(`${rel}: the response ended after ${offset} of ${size} bytes`), { code: 'ECONNRESET' });
        }
      });
      const got = await digests.result();
      if (got.sha256 !== sha256) throw new BlobMismatch(`${rel} does not match its SHA-256 (altered on the server?)`);
      return { digest: got.local, bytes: offset };
    } finally {
      await digests.close();
      await Promise.all(files.map((f) => f.close()));
    }
  }

  /**
   * One response body into the targets from byte `from` on: chunks are gathered into large buffers, each
   * written to every target with positioned writes (a few in flight) and then hashed, in order. `done` counts
   * what is written and hashed, also when the body fails halfway (a resume continues right after it).
   */
  private async receive(res: Reply, signal: AbortSignal, rel: string, size: number, from: number, files: FileHandle[], digests: StreamDigests, done: (n: number) => void): Promise<void> {
    let position = from;
    let chain: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    const emit = async (buf: Buffer, n: number) => {
      const at = position;
      position += n;
      const written = Promise.all(files.map((f) => f.write(buf, 0, n, at)));
      chain = chain.then(async () => {
        await written;
        digests.update(buf, n);
        done(n);
      });
      chain.catch(() => undefined); // awaited below; a failure is not unhandled meanwhile
      inFlight.push(chain);
      if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
    };
    let buf = await digests.take();
    let filled = 0;
    try {
      for await (const chunk of stalling(res, signal, this.opts.stallMs)) {
        if (position + filled + chunk.length > size) throw new BlobMismatch(`${rel} is longer than the ${size} bytes its record says`);
        for (let at = 0; at < chunk.length;) {
          const n = chunk.copy(buf, filled, at);
          filled += n;
          at += n;
          if (filled === buf.length) {
            await emit(buf, filled);
            buf = await digests.take();
            filled = 0;
          }
        }
      }
    } finally {
      if (filled > 0) await emit(buf, filled).catch(() => undefined);
      await chain;
    }
  }

  /** Uploads a file (streamed) under `rel`. */
  async putFile(rel: string, file: string, onBytes?: (n: number) => void): Promise<void> {
    const { size } = await stat(file);
    await this.retrying(`PUT ${rel}`, async (signal) => {
      const stream = createReadStream(file, { highWaterMark: WRITE_BATCH });
      if (onBytes) stream.on('data', (c) => onBytes(c.length));
      const res = await this.send('PUT', rel, signal, { 'content-length': String(size) }, stream);
      res.discard();
      this.check(res, rel);
    });
  }

  async putText(rel: string, text: string): Promise<void> {
    await this.retrying(`PUT ${rel}`, async (signal) => {
      const res = await this.send('PUT', rel, signal, { 'content-type': 'application/json' }, text);
      res.discard();
      this.check(res, rel);
    });
  }

  private async send(method: string, rel: string, signal: AbortSignal, headers: Record<string, string> = {}, body?: string | Readable): Promise<Reply> {
    const auth = this.endpoint.authorization;
    // a server that accepts the connection and never answers: the wait for its headers is bounded too
    // (not for a PUT, whose response comes only after its whole body went up)
    const abort = (signal as AbortSignal & { abortAttempt?: () => void }).abortAttempt;
    const timer = body === undefined && abort ? setTimeout(abort, this.opts.stallMs) : undefined;
    try {
      const all: Record<string, string> = { 'accept-encoding': 'identity', ...(auth ? { authorization: auth } : {}), ...headers };
      if (typeof body === 'string') all['content-length'] = String(Buffer.byteLength(body));
      return await send(`${this.endpoint.base}/${rel}`, method, all, signal, body);
    } finally {
      clearTimeout(timer);
    }
  }

  private check(res: Reply, rel: string): void {
    if (res.ok) return;
    throw new RemoteError(`${this.endpoint.shown}/${rel}: HTTP ${res.status}`, res.status);
  }

  /** Runs an attempt with its own timeout signal, retrying what is worth retrying with backoff. */
  private async retrying<T>(what: string, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      const controller = new AbortController();
      Object.assign(controller.signal, { abortAttempt: () => controller.abort() });
      const outer = this.opts.signal;
      const abort = () => controller.abort();
      outer?.addEventListener('abort', abort, { once: true });
      try {
        return await attempt(controller.signal);
      } catch (err) {
        if (outer?.aborted) throw new RemoteError('interrupted');
        if (!retriable(err) || n >= this.opts.retries) throw asRemoteError(err, `${what} at ${this.endpoint.shown}`);
        await sleep(this.opts.backoffMs * 2 ** n, outer);
      } finally {
        outer?.removeEventListener('abort', abort);
        controller.abort();
      }
    }
  }
}

/**
 * The body's chunks; the attempt fails when no byte arrives for `stallMs` (a server that hangs mid-body):
 * a watchdog aborts the request itself, which ends a pending read whatever state the socket is in.
 */
async function* stalling(res: Reply, signal: AbortSignal, stallMs: number): AsyncGenerator<Buffer> {
  const abort = (signal as AbortSignal & { abortAttempt?: () => void }).abortAttempt;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort?.();
      res.body.destroy();
    }, stallMs);
  };
  const timedOut = () => Object.assign(new Error(`no data for ${stallMs} ms`), { code: 'ETIMEDOUT' });
  try {
    arm();
    for await (const chunk of res.body) {
      if (stalled) throw timedOut();
      if (signal.aborted) throw new RemoteError('interrupted');
      arm();
      yield chunk as Buffer;
    }
    if (stalled) throw timedOut();
    // a connection closed before the whole body came: the stream ends without an error on some paths
    if (!res.body.complete) throw Object.assign(new Error('the response ended early'), { code: 'ECONNRESET' });
  } catch (err) {
    if (stalled) throw timedOut();
    throw err;
  } finally {
    clearTimeout(timer);
    if (!res.body.complete) res.body.destroy();
  }
}

function retriable(err: unknown): boolean {
  if (err instanceof BlobMismatch) return false;
  if (err instanceof RemoteError) return err.status !== undefined && (err.status >= 500 || err.status === 429);
  return true; // network: refused, reset, dropped mid-body, timed out
}

function asRemoteError(err: unknown, what: string): Error {
  if (err instanceof BlobMismatch || err instanceof RemoteError) return err;
  return new RemoteError(`${what}: ${describe(err)}`);
}

/** undici's "fetch failed" hides the reason in `cause`. */
export function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  const code = (err as { code?: string })?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
