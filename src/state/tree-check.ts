/**
 * A stored folder listing (`trees/<hash>.json`) is read back from disk, where anything may have changed it:
 * before a single file is written from it, it must be well-formed, name only paths that stay inside the
 * output folder, and digest to its own name.
 */
import { treeDigest } from '../hash/tree-digest.js';
import type { TreeEntry } from '../hash/types.js';

const OBJECT_NAME = /^[0-9a-f]{8,128}$/;

/** The entries when the listing is valid for `hash`, else what is wrong with it (a phrase). */
export function parseTree(source: string | unknown[], hash: string): TreeEntry[] | string {
  let data: unknown = source;
  if (typeof source === 'string') {
    try {
      data = JSON.parse(source);
    } catch {
      return 'is not valid JSON';
    }
  }
  if (!Array.isArray(data)) return 'is not a list of files';
  const seen = new Set<string>();
  let previous: string | undefined;
  for (const e of data as unknown[]) {
    if (!isEntry(e)) return 'has a malformed entry';
    const unsafe = unsafePath(e.path);
    if (unsafe) return `has the entry '${e.path}', which ${unsafe}`;
    if (previous !== undefined && !(previous < e.path)) return 'is not sorted, or lists a file twice';
    if (ancestors(e.path).some((a) => seen.has(a))) return `has the entry '${e.path}' below another file`;
    seen.add(e.path);
    previous = e.path;
  }
  const entries = data as TreeEntry[];
  if (treeDigest(entries) !== hash) return 'does not match its hash';
  return entries;
}

function isEntry(e: unknown): e is TreeEntry {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return typeof r.path === 'string' && typeof r.hash === 'string' && OBJECT_NAME.test(r.hash)
    && typeof r.size === 'number' && Number.isSafeInteger(r.size) && r.size >= 0 && typeof r.exec === 'boolean';
}

/** Why writing this relative path inside the output folder could land elsewhere, or undefined when it cannot. */
export function unsafePath(p: string): string | undefined {
  if (p.length === 0) return 'is empty';
  if (p.includes('\0')) return 'holds a NUL byte';
  if (p.startsWith('/')) return 'is absolute';
  for (const part of p.split('/')) {
    if (part === '') return 'has an empty path segment';
    if (part === '.' || part === '..') return `has a '${part}' segment and would land outside the output folder`;
  }
  return undefined;
}

function ancestors(p: string): string[] {
  const parts = p.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
