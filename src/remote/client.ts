/**
 * HTTP to the team cache (Bazel's HTTP-cache layout: GET/HEAD/PUT `cas/<sha256>` and `ac/<key>`), with
 * Node's fetch. Every request has a deadline and a stall timeout; network errors, 5xx and 429 are retried a
 * bounded number of times with exponential backoff; a download that drops mid-body resumes with Range.
 * Bodies stream: a blob is never held whole in memory. Credentials go only in the Authorization header.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RemoteEndpoint } from './endpoint.js';
import { BlobWriter } from './blob-writer.js';
import { rawGet, Unhandled } from './raw-get.js';
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
  /** its local digest (xxh128), unless `localDigest: false` */
  digest?: string;
  bytes: number;
}

const MAX_JSON_BYTES = 64 << 20;
const WRITE_BATCH = 1 << 20;
/** blobs from this size are read by the socket straight into the download's buffers (raw-get.ts) */
const DIRECT_FROM_BYTES = 32 << 20;

/** A response to a blob's GET, by either path. */
interface DownloadBody {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  readInto(writer: BlobWriter): Promise<void>;
  discard(): void;
}

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
   * asks for the rest with Range, and starts over if the server answers with the whole blob. The local digest
   * is computed unless `localDigest` is false (the caller has no use for it, or knows it from a signed record).
   */
  async download(sha256: string, size: number, dest: string, onBytes?: (n: number) => void, copies: string[] = [], localDigest = true): Promise<Downloaded> {
    const rel = `cas/${sha256}`;
    const files = await Promise.all([dest, ...copies].map((t) => open(t, 'w')));
    // the hashing threads start while the request goes out: starting them takes 50-70 ms here
    const starting = streamDigests(size, localDigest);
    starting.catch(() => undefined); // awaited below; not unhandled meanwhile
    let digests: StreamDigests | undefined;
    /** bytes on disk in every file and hashed: where a resume starts */
    let offset = 0;
    let direct = size >= DIRECT_FROM_BYTES;
    try {
      await this.retrying(`GET ${rel}`, async (signal) => {
        const range: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
        let body = direct ? await this.directBody(rel, signal, range) : undefined;
        if (!body) {
          direct = false;
          body = this.nodeBody(await this.send('GET', rel, signal, range), signal, rel, size);
        }
        try {
          if (body.status === 404) throw new BlobMismatch(`${rel} is not on the server`);
          this.check(body, rel);
          digests ??= await starting;
          if (body.status !== 206 && offset > 0) {
            await digests!.reset();
            await Promise.all(files.map((f) => f.truncate(0)));
            offset = 0;
          }
          const declared = body.header('content-length');
          if (declared !== undefined && offset + Number(declared) > size) throw new BlobMismatch(`${rel} is longer than the ${size} bytes its record says`);
          const writer = new BlobWriter(files, digests!, offset, (n) => {
            offset += n;
            onBytes?.(n);
          });
          try {
            await body.readInto(writer);
          } finally {
            await writer.flush(); // what was received is on disk and hashed: a resume continues right after it
          }
          if (offset < size) {
            // a whole response that is shorter than the record says: the server holds something else
            if (body.status === 200 && Number(declared) === offset) throw new BlobMismatch(`${rel} is ${offset} bytes on the server, not ${size} (altered on the server?)`);
            throw Object.assign(new Error(`${rel}: the response ended after ${offset} of ${size} bytes`), { code: 'ECONNRESET' });
          }
        } finally {
          body.discard();
        }
      });
      const got = await digests!.result(); // set by the attempt that succeeded
      if (got.sha256 !== sha256) throw new BlobMismatch(`${rel} does not match its SHA-256 (altered on the server?)`);
      return { ...(got.local !== undefined ? { digest: got.local } : {}), bytes: offset };
    } finally {
      await (digests ?? (await starting.catch(() => undefined)))?.close();
      await Promise.all(files.map((f) => f.close()));
    }
  }

  /** The body of a GET read by the socket into the download's buffers; undefined when that path cannot take it. */
  private async directBody(rel: string, signal: AbortSignal, headers: Record<string, string>): Promise<DownloadBody | undefined> {
    try {
      const res = await rawGet(new URL(`${this.endpoint.base}/${rel}`), this.headers(headers), signal, this.opts.stallMs);
      return { status: res.status, ok: res.status >= 200 && res.status < 300, header: res.header, discard: res.close, readInto: (w) => res.body(w) };
    } catch (err) {
      if (err instanceof Unhandled) return undefined;
      throw err;
    }
  }

  /** The body of a node:http response, chunk by chunk. */
  private nodeBody(res: Reply, signal: AbortSignal, rel: string, size: number): DownloadBody {
    return {
      status: res.status, ok: res.ok, header: res.header, discard: res.discard,
      readInto: async (writer) => {
        for await (const chunk of stalling(res, signal, this.opts.stallMs)) {
          if (writer.received + chunk.length > size) throw new BlobMismatch(`${rel} is longer than the ${size} bytes its record says`);
          await writer.copyIn(chunk);
        }
      },
    };
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
    // a server that accepts the connection and never answers: the wait for its headers is bounded too
    // (not for a PUT, whose response comes only after its whole body went up)
    const abort = (signal as AbortSignal & { abortAttempt?: () => void }).abortAttempt;
    const timer = body === undefined && abort ? setTimeout(abort, this.opts.stallMs) : undefined;
    try {
      const all = this.headers(headers);
      if (typeof body === 'string') all['content-length'] = String(Buffer.byteLength(body));
      return await send(`${this.endpoint.base}/${rel}`, method, all, signal, body);
    } finally {
      clearTimeout(timer);
    }
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const auth = this.endpoint.authorization;
    return { 'accept-encoding': 'identity', ...(auth ? { authorization: auth } : {}), ...extra };
  }

  private check(res: { ok: boolean; status: number }, rel: string): void {
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
