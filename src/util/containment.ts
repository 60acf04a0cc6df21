/**
 * Symlink-aware containment: a project-relative path is lexically inside the root (the loader checks that),
 * but a symlink on the way (`out -> /elsewhere`) can still lead outside. Writing, restoring or cleaning
 * through such a link would touch files pipe does not own, and hashing through it would read them.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

const GLOB_CHARS = /[*?[\]{}!]/;

/** Where `rel` leads when it leaves the root through a symlink, or undefined when it stays inside. */
export function escapeThroughSymlink(root: string, rel: string, memo = new Map<string, string>()): string | undefined {
  const realRoot = resolved(root, memo);
  let current = realRoot;
  for (const part of staticPart(rel)) {
    const next = path.join(current, part);
    const target = linkTarget(next, memo);
    if (target === undefined) {
      current = next;
      continue;
    }
    if (target === MISSING) return undefined; // nothing there yet: it is created inside `current`
    if (!isInside(realRoot, target)) return target;
    current = target;
  }
  return undefined;
}

const MISSING = '\0missing';

/** The components before the first glob character: a glob cannot escape further than its fixed prefix. */
function staticPart(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
  return firstGlob < 0 ? parts : parts.slice(0, firstGlob);
}

/** undefined: an ordinary file or folder; MISSING: nothing at that path; else the link's resolved target. */
function linkTarget(abs: string, memo: Map<string, string>): string | undefined {
  const known = memo.get(abs);
  if (known !== undefined) return known === '' ? undefined : known;
  let result: string;
  try {
    const st = lstatSync(abs, { throwIfNoEntry: false }); // no exception per missing path: this runs for every output
    if (!st) result = MISSING;
    else if (!st.isSymbolicLink()) result = '';
    else result = resolved(abs, memo);
  } catch {
    result = MISSING;
  }
  memo.set(abs, result);
  return result === '' ? undefined : result;
}

function resolved(abs: string, memo: Map<string, string>): string {
  const key = `\0real:${abs}`;
  const known = memo.get(key);
  if (known) return known;
  let result: string;
  try {
    result = realpathSync(abs);
  } catch {
    // a dangling link: where it points (writing through it would create that file)
    result = path.resolve(path.dirname(abs), readlinkSync(abs));
  }
  memo.set(key, result);
  return result;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + path.sep);
}
