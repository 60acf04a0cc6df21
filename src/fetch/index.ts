/**
 * Fetch stages: Hugging Face snapshots in the huggingface_hub cache layout, and single files from URLs.
 * The engine calls fetchIdentity (key), checkFetched (freshness without the network) and runFetch.
 */
import type { FetchSpec } from '../pipeline/types.js';
import type { FetchContext } from './context.js';
import { FetchError, redact } from './errors.js';
import { checkHf, restoreShared, runHf, sharedHf, type SharedDownload, type SharedHfSnapshot } from './hf-fetch.js';
import { isHf } from './identity.js';
import type { CheckResult, RunResult } from './types.js';
import { checkUrl, runUrl } from './url-fetch.js';

export { type FetchContext, type FetchProgress, resolveFetchContext, readToken, DEFAULT_ENDPOINT } from './context.js';
export { FetchError } from './errors.js';
export { fetchIdentity } from './identity.js';
export { pinManifest, type Pinned } from './pin.js';
export { repoFolder } from './hf-layout.js';
export { urlDestination } from './url-fetch.js';
export type { CheckResult, RunResult } from './types.js';

/** Without any request: is the fetched content complete and verified? Returns a reason when not. */
export async function checkFetched(spec: FetchSpec, ctx: FetchContext): Promise<CheckResult> {
  return guard(ctx, () => (isHf(spec) ? checkHf(spec, ctx) : checkUrl(spec, ctx)));
}

/** Download what is missing, verify, write the cache layout; the digest covers the commit and every file's etag. */
export async function runFetch(spec: FetchSpec, ctx: FetchContext): Promise<RunResult> {
  return guard(ctx, () => (isHf(spec) ? runHf(spec, ctx) : runUrl(spec, ctx)));
}

/**
 * Puts a model snapshot the team cache shares into the model cache, verified, asking the hub nothing;
 * undefined for a URL fetch (the team cache shares only model snapshots).
 */
export async function restoreSharedSnapshot(spec: FetchSpec, ctx: FetchContext, shared: SharedHfSnapshot, download: SharedDownload): Promise<RunResult | undefined> {
  if (!isHf(spec)) return undefined;
  return guard(ctx, () => restoreShared(spec, ctx, shared, download));
}

/** The verified snapshot on disk, to share with the team cache (undefined for a URL fetch or one not fetched). */
export async function sharedSnapshot(spec: FetchSpec, ctx: FetchContext): ReturnType<typeof sharedHf> {
  return isHf(spec) ? sharedHf(spec, ctx) : undefined;
}

export type { SharedHfSnapshot, SharedDownload };

/** Every failure leaves as a FetchError with the token scrubbed; filesystem errors keep their message. */
async function guard<T>(ctx: FetchContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (ctx.signal.aborted) throw new FetchError('interrupted', { interrupted: true });
    if (err instanceof FetchError) {
      const clean = redact(err.message, ctx.token);
      return Promise.reject(clean === err.message ? err : new FetchError(clean, { interrupted: err.interrupted }));
    }
    throw new FetchError(redact(err instanceof Error ? err.message : String(err), ctx.token));
  }
}
