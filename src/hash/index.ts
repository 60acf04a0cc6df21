export { DIGEST_NAME, digestBytes } from './digest.js';
export { StatCache, type HashedStat, type StatCacheOptions } from './stat-cache.js';
export { currentStatKey, UNTRUSTED } from './stat-key.js';
export type { PathHash, TreeEntry } from './types.js';
