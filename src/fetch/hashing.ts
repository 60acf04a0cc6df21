/** Content checks: SHA-256 (LFS files, URL downloads) and git's blob SHA-1 (regular files on the hub). */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** What a file's bytes must hash to: the hub's etag is exactly one of these two. */
export interface Expected {
  kind: 'sha256' | 'git-sha1';
  hex: string;
  /** known for hub files; a URL download learns it from the response */
  size?: number;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
export const SHA1_HEX = /^[0-9a-f]{40}$/;

/** A git blob id is sha1("blob <size>\0" + content); the hub uses it as the etag of non-LFS files. */
export function newHasher(expected: Pick<Expected, 'kind' | 'size'>): Hash {
  if (expected.kind === 'sha256') return createHash('sha256');
  if (expected.size === undefined) throw new Error('a git blob id needs the size');
  return createHash('sha1').update(`blob ${expected.size}\0`);
}

/** Feed the first `bytes` bytes of a file (all of it when undefined) into a hasher. */
export async function feedFile(hasher: Hash, file: string, bytes?: number): Promise<void> {
  if (bytes === 0) return;
  const stream = createReadStream(file, bytes === undefined ? {} : { start: 0, end: bytes - 1 });
  for await (const chunk of stream) hasher.update(chunk as Buffer);
}

export async function fileMatches(file: string, expected: Expected): Promise<boolean> {
  const hasher = newHasher(expected);
  await feedFile(hasher, file);
  return hasher.digest('hex') === expected.hex;
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
