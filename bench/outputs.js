// @ts-check
// Fingerprints of a build's out/ folder: a content digest to compare tools, and the
// modification times to prove a no-op wrote nothing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} dir */
const sortedNames = (dir) => readdirSync(dir).sort();

/**
 * SHA-256 over every file name and its bytes, in name order.
 * @param {string} dir
 */
export function outputsDigest(dir) {
  const hash = createHash('sha256');
  for (const name of sortedNames(dir)) {
    hash.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  }
  return hash.digest('hex');
}

/** @param {string} dir @returns {Map<string, bigint>} */
export function outputMtimes(dir) {
  return new Map(sortedNames(dir).map((name) => [name, statSync(join(dir, name), { bigint: true }).mtimeNs]));
}

/** @param {Map<string, bigint>} a @param {Map<string, bigint>} b */
export function sameMtimes(a, b) {
  if (a.size !== b.size) return false;
  for (const [name, mtime] of a) if (b.get(name) !== mtime) return false;
  return true;
}
