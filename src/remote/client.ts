/**
 * HTTP to the team cache (Bazel's HTTP-cache layout: GET/HEAD/PUT `cas/<sha256>` and `ac/<key>`), with
 * Node's fetch. Every request has a deadline and a stall timeout; network errors, 5xx and 429 are retried a
 * bounded number of times with exponential backoff; a download that drops mid-body resumes with Range.
 * Bodies stream: a blob is never held whole in memory. Credentials go only in the Authorization header.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { newDigest } from '../hash/digest.js';
import type { RemoteEndpoint } from './endpoint.js';
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
   * Streams `cas/<sha256>` into `dest` (created or resumed), hashing as it goes; BlobMismatch when its
   * size or SHA-256 is not what the record says. A retry after a dropped connection asks for the rest with
   * Range, and starts over if the server answers with the whole blob.
   */
  async download(sha256: string, size: number, dest: string, onBytes?: (n: number) => void): Promise<Downloaded> {
    const rel = `cas/${sha256}`;
    await truncate(dest, 0).catch(() => undefined);
    const sha = { hasher: createHash('sha256'), local: await newDigest(), offset: 0 };
    const reset = async () => {
      sha.hasher = createHash('sha256');
      sha.local = await newDigest();
      sha.offset = 0;
      await truncate(dest, 0);
    };
    await this.retrying(`GET ${rel}`, async (signal) => {
      const res = await this.send('GET', rel, signal, sha.offset > 0 ? { range: `bytes=${sha.offset}-` } : {});
      if (res.status === 404) {
        res.discard();
        throw new BlobMismatch(`${rel} is not on the server`);
      }
      this.check(res, rel);
      if (res.status !== 206 && sha.offset > 0) await reset();
      const file = await open(dest, sha.offset > 0 ? 'a' : 'w');
      try {
        let batch: Buffer[] = [];
        let batched = 0;
        let received = sha.offset;
        let writing: Promise<void> = Promise.resolve();
        // one write in flight while the next chunks are read and hashed; `offset` counts what is on disk
        const flush = async () => {
          await writing;
          if (batched === 0) return;
          const chunks = batch;
          const n = batched;
          batch = [];
          batched = 0;
          writing = file.writev(chunks).then(() => {
            sha.offset += n;
            onBytes?.(n);
          });
        };
        try {
          for await (const chunk of stalling(res, signal, this.opts.stallMs)) {
            received += chunk.length;
            if (received > size) throw new BlobMismatch(`${rel} is longer than the ${size} bytes its record says`);
            sha.hasher.update(chunk);
            sha.local.update(chunk);
            batch.push(chunk);
            batched += chunk.length;
            if (batched >= WRITE_BATCH) await flush();
          }
        } finally {
          await flush(); // what was hashed is on disk: a resume continues right after it
          await writing;
        }
      } finally {
        await file.close();
      }
      if (sha.offset < size) {
        // a whole response that is shorter than the record says: the server holds something else
        if (res.status === 200 && Number(res.header('content-length')) === sha.offset) throw new BlobMismatch(`${rel} is ${sha.offset} bytes on the server, not ${size} (altered on the server?)`);
        throw Object.assign(new Error(`${rel}: the response ended after ${sha.offset} of ${size} bytes`), { code: 'ECONNRESET' });
      }
    });
    if (sha.hasher.digest('hex') !== sha256) throw new BlobMismatch(`${rel} does not match its SHA-256 (altered on the server?)`);
    return { digest: sha.local.hex(), bytes: sha.offset };
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
