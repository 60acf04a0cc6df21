/** The part of a fetch that enters the stage key, and the digest a finished fetch reports as its output. */
import type { FetchSpec, HfFetch, UrlFetch } from '../pipeline/types.js';
import { sha256Text } from './hashing.js';

export function isHf(spec: FetchSpec): spec is HfFetch {
  return typeof (spec as HfFetch).hf === 'string';
}

export function fetchIdentity(spec: FetchSpec): string {
  if (isHf(spec)) {
    const include = spec.include ? [...new Set(spec.include)].sort() : undefined;
    return JSON.stringify({ hf: spec.hf, repoType: spec.repoType ?? 'model', revision: spec.revision, include });
  }
  const url = spec as UrlFetch;
  return JSON.stringify({ url: url.url, sha256: url.sha256, to: url.to });
}

export function snapshotDigest(commit: string, files: { path: string; etag: string }[]): string {
  const lines = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => `${f.path}\t${f.etag}`);
  return sha256Text(`${commit}\n${lines.join('\n')}`);
}
