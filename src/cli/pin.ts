/** pipe pin [MANIFEST]: resolve branch revisions to commits on the hub and write them back. */
import path from 'node:path';
import { EXIT, UserError } from '../util/errors.js';
import type { GlobalOptions } from './options.js';
import { open } from './session.js';

export async function pinCommand(manifest: string, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const fetch = await import('../fetch/index.js');
  const hubCache = path.join(project.pipeline.cache.hfHome, 'hub');
  const ctx = fetch.resolveFetchContext(project.root, hubCache, project.pipeline.cache.torchHome, { offline: false, signal: new AbortController().signal });
  let pinned;
  try {
    pinned = await fetch.pinManifest(path.resolve(project.root, manifest), ctx);
  } catch (err) {
    if (err instanceof fetch.FetchError) throw new UserError(err.message, EXIT.stageFailed);
    throw err;
  }
  if (globals.json) process.stdout.write(JSON.stringify({ pinned }) + '\n');
  else process.stdout.write(pinned.length ? pinned.map((p) => `${p.key}: ${p.from} -> ${p.to}`).join('\n') + '\n' : 'every revision is already a commit\n');
}
