import type { BigIntStats } from 'node:fs';

/** Identity of a file's state: any write, replace, chmod or touch changes at least one field. */
export function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export function isExecutable(st: BigIntStats): boolean {
  return (st.mode & 0o100n) !== 0n;
}

/**
 * Racy-git rule: a hash taken while the file's timestamps were still "now" (within the
 * filesystem's timestamp granularity, or a clock skew with a network server) may have read an
 * older content than a write that lands in the same tick and keeps size and times equal.
 * Such a hash is used once but never trusted from the cache.
 */
export function isRacy(st: BigIntStats, hashStartedNs: bigint, windowNs: bigint): boolean {
  const changed = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  return changed + windowNs > hashStartedNs;
}

export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
