import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';

/** What the stat cache remembers of one file. */
export interface CachedFile {
  key: string;
  hash: string;
}

/*
 * A line format rather than JSON: one `path TAB statkey TAB hash` line per file.
 * Loading 30k entries costs about half of JSON.parse of the equivalent object (docs/hashing.md).
 */
const HEADER_PREFIX = 'pipe-stat-cache 1 ';

export function loadCacheFile(file: string, digestName: string): Map<string, CachedFile> {
  const entries = new Map<string, CachedFile>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return entries;
  }
  const header = HEADER_PREFIX + digestName + '\n';
  if (!text.startsWith(header)) return entries;
  let pos = header.length;
  while (pos < text.length) {
    const t1 = text.indexOf('\t', pos);
    const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
    const nl = t2 < 0 ? -1 : text.indexOf('\n', t2 + 1);
    if (nl < 0) return new Map(); // truncated or corrupt: start empty rather than trust a part
    entries.set(text.slice(pos, t1), { key: text.slice(t1 + 1, t2), hash: text.slice(t2 + 1, nl) });
    pos = nl + 1;
  }
  return entries;
}

export function saveCacheFile(file: string, digestName: string, entries: Map<string, CachedFile>): void {
  const parts = [HEADER_PREFIX, digestName, '\n'];
  for (const [p, e] of entries) {
    if (p.includes('\t') || p.includes('\n')) continue; // not representable; such files are simply re-hashed
    parts.push(p, '\t', e.key, '\t', e.hash, '\n');
  }
  writeFileAtomic(file, parts.join(''));
}
