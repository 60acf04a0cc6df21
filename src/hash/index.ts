export { DIGEST_NAME, digestBytes } from './digest.js';
export { StatCache, type StatCacheOptions } from './stat-cache.js';
export type { PathHash, TreeEntry } from './types.js';
