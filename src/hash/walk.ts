import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';

export interface WalkedFile {
  /** POSIX path relative to the walked folder */
  rel: string;
  abs: string;
  /** stat of the file itself, symlinks followed */
  st: BigIntStats;
}

/**
 * Sees what a walk passes over without yielding: each sub-folder it enters (with its stat) and each
 * dangling link (undefined), so a caller can tell later whether the walk would still find the same files.
 */
export type PassedOver = (abs: string, st: BigIntStats | undefined) => void;

/**
 * Every regular file below `root`, following symlinks to files and folders (a Hugging Face
 * snapshot is a tree of links into ../../blobs). A folder that is its own ancestor through a
 * link is not entered again, so link loops end. Dangling links and special files are skipped.
 */
export function* walkFiles(root: string, rootStat: BigIntStats, passedOver?: PassedOver): Generator<WalkedFile> {
  yield* walkDir(root, '', new Set([dirId(rootStat)]), passedOver);
}

function* walkDir(abs: string, rel: string, ancestors: Set<string>, passedOver: PassedOver | undefined): Generator<WalkedFile> {
  for (const dirent of readdirSync(abs, { withFileTypes: true })) {
    const childAbs = path.join(abs, dirent.name);
    const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
    if (!dirent.isFile() && !dirent.isDirectory() && !dirent.isSymbolicLink()) continue;
    const st = statSync(childAbs, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      passedOver?.(childAbs, undefined);
      continue;
    }
    if (st.isFile()) {
      yield { rel: childRel, abs: childAbs, st };
    } else if (st.isDirectory()) {
      const id = dirId(st);
      if (ancestors.has(id)) continue;
      ancestors.add(id);
      passedOver?.(childAbs, st);
      yield* walkDir(childAbs, childRel, ancestors, passedOver);
      ancestors.delete(id);
    }
  }
}

function dirId(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}
