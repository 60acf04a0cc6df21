/**
 * One file, downloaded into a temporary name, resumed with Range from whatever that name already holds,
 * hashed while it streams, checked, and only then renamed into place: a partial or wrong file is never
 * found under the final name.
 */
import type { Hash } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FetchContext } from './context.js';
import { FetchError } from './errors.js';
import { type Expected, feedFile, newHasher } from './hashing.js';
import { HttpStatusError, send, withRetry } from './http.js';

export interface DownloadJob {
  url: string;
  /** the temporary name, in the destination's folder (e.g. blobs/<etag>.incomplete) */
  temp: string;
  dest: string;
  expected: Expected;
  /** names the file in messages, e.g. "org/name config.json" */
  label: string;
  onBytes?: (bytes: number, total: number) => void;
}

/** Thrown when the server closed the body early without a socket error: as good as a dropped connection. */
class ShortBodyError extends Error {
  readonly code = 'ECONNRESET';
}

const inFlight = new Map<string, Promise<number>>();

/** Download, verify and rename; returns the bytes that came over the network. Concurrent calls for one dest share the work. */
export function downloadVerified(ctx: FetchContext, job: DownloadJob): Promise<number> {
  const running = inFlight.get(job.dest);
  if (running) return running.then(() => 0);
  const work = download(ctx, job).finally(() => inFlight.delete(job.dest));
  inFlight.set(job.dest, work);
  return work;
}

async function download(ctx: FetchContext, job: DownloadJob): Promise<number> {
  await mkdir(path.dirname(job.temp), { recursive: true });
  const tally = { bytes: 0 }; // counts the bytes of failed attempts too: they came over the network
  await withRetry(ctx, job.label, () => attempt(ctx, job, tally));
  await rename(job.temp, job.dest);
  return tally.bytes;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** One try: continue from the partial file, stream the rest while hashing it, verify. */
async function attempt(ctx: FetchContext, job: DownloadJob, tally: { bytes: number }): Promise<void> {
  const known = job.expected.size;
  let offset = await sizeOf(job.temp);
  if (known !== undefined && offset > known) {
    await unlink(job.temp);
    offset = 0;
  }
  if (known !== undefined && offset === known && known > 0) {
    const hasher = newHasher(job.expected);
    await feedFile(hasher, job.temp);
    return verify(job, offset, hasher.digest('hex'));
  }
  const res = await request(ctx, job, offset);
  if (offset > 0 && !rangeHonoured(res, offset)) offset = 0;
  const hasher = newHasher(job.expected);
  await feedFile(hasher, job.temp, offset); // the bytes a previous attempt left, read once
  const total = known ?? totalFromHeaders(res, offset);
  const received = await appendBody(res, job, offset, total, tally, hasher);
  if (total !== undefined && offset + received < total) {
    throw new ShortBodyError(`connection closed after ${offset + received} of ${total} bytes`);
  }
  await verify(job, offset + received, hasher.digest('hex'));
}

async function request(ctx: FetchContext, job: DownloadJob, offset: number): Promise<Response> {
  try {
    return await send(ctx, job.url, {
      method: 'GET',
      headers: offset > 0 ? { range: `bytes=${offset}-` } : undefined,
      followRedirects: true,
    });
  } catch (err) {
    // 416: the partial file is as long as (or longer than) the resource; start over rather than guess.
    if (err instanceof HttpStatusError && err.status === 416 && offset > 0) {
      await unlink(job.temp).catch(() => undefined);
      throw new ShortBodyError('range not satisfiable; restarting from the first byte');
    }
    throw err;
  }
}

function totalFromHeaders(res: Response, offset: number): number | undefined {
  const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  if (res.status === 206 && range) return Number(range[1]);
  const length = res.headers.get('content-length');
  return length === null ? undefined : offset + Number(length);
}

function rangeHonoured(res: Response, offset: number): boolean {
  if (res.status !== 206) return false;
  const match = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  return match !== null && Number(match[1]) === offset;
}

async function appendBody(
  res: Response, job: DownloadJob, offset: number, total: number | undefined, tally: { bytes: number }, hasher: Hash,
): Promise<number> {
  const file = await open(job.temp, offset > 0 ? 'a' : 'w');
  let received = 0;
  try {
    if (!res.body) return 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      hasher.update(chunk);
      received += chunk.byteLength;
      tally.bytes += chunk.byteLength;
      job.onBytes?.(offset + received, total ?? 0);
    }
  } finally {
    await file.close();
  }
  return received;
}

async function verify(job: DownloadJob, size: number, actual: string): Promise<void> {
  const { expected } = job;
  if ((expected.size === undefined || size === expected.size) && actual === expected.hex) return;
  await unlink(job.temp).catch(() => undefined);
  const what = expected.kind === 'sha256' ? 'SHA-256' : 'git blob SHA-1';
  throw new FetchError(
    `${job.label}: the downloaded bytes are wrong (${size} bytes, ${what} ${actual}; expected ${expected.size ?? 'any number of'} bytes, ${expected.hex}). ` +
      'The file was deleted and nothing was recorded; run the stage again, and if it persists the source has changed.',
  );
}
