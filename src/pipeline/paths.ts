/** Project-relative POSIX paths: normalized, and refused when they escape the project root. */
import path from 'node:path';

const GLOB_CHARS = /[*?[\]{}!]/;
/** an empty, `.` or `..` segment */
const UNCLEAN_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

export function isGlob(p: string): boolean {
  return GLOB_CHARS.test(p);
}

export class PathEscapeError extends Error {}

/** Normalizes `p` (relative to root, or absolute inside root) to a clean relative POSIX path. */
export function projectPath(root: string, p: string): string {
  if (isPlainRelative(p)) return p;
  const absolute = path.resolve(root, p);
  const relative = path.relative(root, absolute);
  if (relative === '' ) return '.';
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new PathEscapeError(`'${p}' is outside the project root`);
  }
  return relative.split(path.sep).join('/');
}

/** Already clean: relative, no empty, `.` or `..` segment (the common case, and 100,000 foreach jobs add up). */
export function isPlainRelative(p: string): boolean {
  if (path.sep !== '/' || p === '' || p.startsWith('/') || p.startsWith('..')) return false;
  return !UNCLEAN_SEGMENT.test(p);
}

/** `p` is the absolute folder `dir` or lies below it; `dir` may be `/` (then every absolute path does). */
export function isWithinFolder(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function isInside(parent: string, child: string): boolean {
  return parent === '.' || child === parent || child.startsWith(parent + '/');
}
