/** A single file from a URL (torch hub checkpoints): temp name, Range resume, SHA-256 check, rename. */
import path from 'node:path';
import type { UrlFetch } from '../pipeline/types.js';
import type { FetchContext } from './context.js';
import { downloadVerified } from './download.js';
import { FetchError } from './errors.js';
import { fileMatches } from './hashing.js';
import { safeUrl } from './http.js';
import { fetchIdentity } from './identity.js';
import { readRecord, stampOf, writeRecord } from './record.js';
import { progressReporter } from './progress.js';
import type { CheckResult, RunResult } from './types.js';
import { formatBytes } from './units.js';

/** The absolute destination; `to` ending in "/" takes the URL's file name. Refuses anything outside the project. */
export function urlDestination(spec: UrlFetch, root: string): string {
  const name = spec.to.endsWith('/') ? path.posix.basename(new URL(spec.url).pathname) : '';
  const dest = path.resolve(root, spec.to, name);
  const rel = path.relative(root, dest);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new FetchError(`fetch to: ${spec.to} is outside the project (${root}); downloads may only land inside it`);
  }
  return dest;
}

function outputHash(spec: UrlFetch): string {
  return spec.sha256;
}

export async function checkUrl(spec: UrlFetch, ctx: FetchContext): Promise<CheckResult> {
  const dest = urlDestination(spec, ctx.root);
  const rel = path.relative(ctx.root, dest);
  const record = await readRecord(ctx.root, fetchIdentity(spec));
  const now = await stampOf(dest);
  if (!now) return { fresh: false, reason: `${rel} is missing` };
  if (!record || record.kind !== 'url') return { fresh: false, reason: `${rel} was never verified by pipe` };
  if (now.size !== record.size || now.mtimeMs !== record.mtimeMs) return { fresh: false, reason: `${rel} changed on disk since it was verified` };
  return { fresh: true, outputHash: outputHash(spec) };
}

export async function runUrl(spec: UrlFetch, ctx: FetchContext): Promise<RunResult> {
  const dest = urlDestination(spec, ctx.root);
  const rel = path.relative(ctx.root, dest);
  const expected = { kind: 'sha256' as const, hex: spec.sha256 };
  let downloaded = 0;
  const present = await stampOf(dest);
  if (!present || !(await fileMatches(dest, expected))) {
    if (ctx.offline) {
      throw new FetchError(`${rel} (${safeUrl(spec.url)}) is ${present ? 'not the expected file' : 'not downloaded'} and --offline forbids downloading it`);
    }
    downloaded = await downloadVerified(ctx, {
      url: spec.url,
      // The expected hash is in the name, so a partial of another version is never resumed into this one.
      temp: `${dest}.${spec.sha256.slice(0, 12)}.incomplete`,
      dest,
      expected,
      label: rel,
      onBytes: progressReporter(ctx, rel),
    });
  }
  const stamp = (await stampOf(dest))!;
  await writeRecord(ctx.root, { kind: 'url', identity: fetchIdentity(spec), file: rel, sha256: spec.sha256, ...stamp });
  ctx.onProgress?.({ file: rel, bytes: stamp.size, total: stamp.size, done: true });
  ctx.log(`${rel} ${formatBytes(stamp.size)} ${downloaded > 0 ? 'downloaded' : 'cached'}`);
  return { outputHash: outputHash(spec), files: 1, bytes: stamp.size, downloaded };
}
