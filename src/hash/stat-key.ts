import { statSync, type BigIntStats } from 'node:fs';

/** Stat keys of a path that does not exist, and of a hash that may not match its stat (never equal to a real key). */
export const ABSENT = '';
export const UNTRUSTED = 'untrusted';

/** Identity of a file's state: any write, replace, chmod or touch changes at least one field. */
export function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The stat key of a path now (symlinks followed), or ABSENT. */
export function currentStatKey(absPath: string): string {
  const st = statSync(absPath, { bigint: true, throwIfNoEntry: false });
  return st ? statKey(st) : ABSENT;
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

/**
 * How close to "now" a change must be for its hash not to be trusted, from the file's own timestamp:
 * a filesystem that keeps whole seconds (nanoseconds 0: ext3, FAT, some network mounts) gets 2 s; one with
 * fine timestamps ticks at most every 10 ms (the kernel's coarse clock), so 100 ms is ample.
 */
export function racyWindowNs(st: BigIntStats): bigint {
  return st.mtimeNs % 1_000_000_000n === 0n ? 2_000_000_000n : 100_000_000n;
}

export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
