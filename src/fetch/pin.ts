/** `pin`: replace branch/tag revisions in a model manifest with the commits they point at now, keeping comments. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type Document, isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import type { HfFetch } from '../pipeline/types.js';
import type { FetchContext } from './context.js';
import { FetchError, redact } from './errors.js';
import { getRevisionInfo } from './hf-api.js';
import { COMMIT_HEX } from './hf-layout.js';

export interface Pinned {
  key: string;
  from: string;
  to: string;
}

/** The map of model entries: the top level, or `models:` when the file nests them. */
function entriesOf(doc: Document): YAMLMap | undefined {
  const top = doc.contents;
  if (!isMap(top)) return undefined;
  const nested = top.get('models', true);
  return isMap(nested) ? nested : top;
}

export async function pinManifest(manifestFile: string, ctx: FetchContext): Promise<Pinned[]> {
  if (ctx.offline) throw new FetchError('pinning resolves revisions on the hub and cannot run with --offline');
  const doc = parseDocument(await readFile(manifestFile, 'utf8'));
  const entries = entriesOf(doc);
  if (!entries) throw new FetchError(`${manifestFile}: expected a map of model entries`);
  const pinned: Pinned[] = [];
  const failed: string[] = [];
  for (const pair of entries.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const fetch = isMap(pair.value) ? pair.value.get('fetch', true) : undefined;
    if (!isMap(fetch) || typeof fetch.get('hf') !== 'string') continue;
    const from = String(fetch.get('revision') ?? 'main');
    if (COMMIT_HEX.test(from)) continue;
    const spec: HfFetch = { hf: String(fetch.get('hf')), revision: from };
    const repoType = fetch.get('repoType');
    if (repoType === 'dataset') spec.repoType = 'dataset';
    try {
      const { sha } = await getRevisionInfo(ctx, spec);
      fetch.set('revision', sha);
      pinned.push({ key, from, to: sha });
      ctx.log(`${key}: ${spec.hf} ${from} -> ${sha}`);
    } catch (err) {
      failed.push(`${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (pinned.length > 0) {
    const temp = `${manifestFile}.${process.pid}.tmp`;
    await writeFile(temp, doc.toString());
    await rename(temp, manifestFile);
  }
  if (failed.length > 0) {
    const done = pinned.length > 0 ? ` (${pinned.length} other entries were pinned and written)` : '';
    throw new FetchError(redact(`could not pin ${failed.length} entries${done}:\n  ${failed.join('\n  ')}`, ctx.token));
  }
  return pinned;
}
