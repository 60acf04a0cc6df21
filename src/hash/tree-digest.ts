import { digestBytes } from './digest.js';
import type { TreeEntry } from './types.js';

/** Order used for tree entries everywhere: plain code-unit order, independent of locale. */
export function compareEntries(a: TreeEntry, b: TreeEntry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Digest of a folder: over its sorted (relpath, exec bit, file hash) triples. NUL cannot occur in
 * a path and the hash has a fixed length, so the encoding is unambiguous. Empty folders inside
 * the tree leave no trace, as in git.
 */
export function treeDigest(sortedEntries: readonly TreeEntry[]): string {
  const parts = ['pipe-tree-1\0'];
  for (const e of sortedEntries) parts.push(e.path, '\0', e.exec ? 'x' : '-', e.hash, '\0');
  return digestBytes(parts.join(''));
}
