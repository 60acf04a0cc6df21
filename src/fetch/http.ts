/**
 * HTTP for fetch stages: Node's fetch with manual redirects (so the token never follows a redirect to
 * another origin), identity encoding (sizes and Range offsets are the file's bytes), bounded retries
 * with exponential backoff on 5xx/429 and dropped connections, and Ctrl-C through the AbortSignal.
 */
import type { FetchContext } from './context.js';
import { FetchError, describeCause, redact } from './errors.js';

const USER_AGENT = 'pipe-fetch/0.1 (+huggingface_hub-compatible cache)';
const MAX_REDIRECTS = 5;

/** A response whose status the caller has to judge (4xx) or that is worth another attempt (5xx, 429). */
export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly url: string, readonly headers: Headers) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
  get retriable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

export interface SendOptions {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** follow 3xx (re-deciding the Authorization header at every hop); false returns the 3xx itself */
  followRedirects: boolean;
}

export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function headersFor(ctx: FetchContext, url: string, extra: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
  if (ctx.token && sameOrigin(url, ctx.endpoint)) headers.authorization = `Bearer ${ctx.token}`;
  return headers;
}

/** One request (plus its redirects). Throws HttpStatusError for status >= 400, FetchError when aborted. */
export async function send(ctx: FetchContext, url: string, opts: SendOptions): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    throwIfAborted(ctx);
    let res: Response;
    try {
      res = await fetch(current, {
        method: opts.method,
        headers: headersFor(ctx, current, opts.headers),
        redirect: 'manual',
        signal: ctx.signal,
      });
    } catch (err) {
      throwIfAborted(ctx);
      throw err;
    }
    const location = res.headers.get('location');
    if (opts.followRedirects && res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new FetchError(`too many redirects fetching ${safeUrl(url)}`);
      current = new URL(location, current).toString();
      continue;
    }
    if (res.status >= 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new HttpStatusError(res.status, current, res.headers);
    }
    return res;
  }
}

export function throwIfAborted(ctx: FetchContext): void {
  if (ctx.signal.aborted) throw new FetchError('interrupted', { interrupted: true });
}

/** Network-level failures (refused, reset, dropped mid-body, timeouts) are worth retrying; nothing else is. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof FetchError) return false;
  if (err instanceof HttpStatusError) return err.retriable;
  if (err instanceof TypeError) return true; // undici: "fetch failed", "terminated"
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}

/** Run `attempt` until it succeeds, retrying retriable failures with exponential backoff. */
export async function withRetry<T>(ctx: FetchContext, what: string, attempt: (n: number) => Promise<T>): Promise<T> {
  const retries = ctx.retries ?? 5;
  const base = ctx.retryBaseMs ?? 500;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      throwIfAborted(ctx);
      if (!isRetriable(err)) throw err;
      if (n >= retries) {
        throw new FetchError(redact(`${what}: giving up after ${n + 1} attempts: ${describeFailure(err)}`, ctx.token));
      }
      const delay = Math.min(base * 2 ** n, 30_000);
      ctx.log(redact(`  retry ${n + 1}/${retries} in ${delay} ms: ${what}: ${describeFailure(err)}`, ctx.token));
      await sleep(delay, ctx.signal);
    }
  }
}

function describeFailure(err: unknown): string {
  return err instanceof HttpStatusError ? `HTTP ${err.status}` : describeCause(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A URL fit for messages: no query string (signed CDN URLs carry credentials there). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}
