/** Which team cache a command uses (--remote-cache, PIPE_REMOTE_CACHE, `remote_cache:`) and how it is opened. */
import type { Project } from '../project.js';
import type { CacheLayer } from '../plan/context.js';
import type { Reporter } from '../report/events.js';
import { bytes } from '../report/format.js';
import { parseEndpoint } from './endpoint.js';
import { teamCacheLayer } from './layer.js';
import { TeamCache, type TeamCacheStats } from './team-cache.js';

export interface RemoteOptions {
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
}

export interface OpenedTeamCache {
  layer: CacheLayer;
  /** set once the engine is opened */
  team: () => TeamCache | undefined;
}

/** The team cache for this command, or undefined when none is configured. */
export function openTeamCache(project: Project, opts: RemoteOptions, reporter: Pick<Reporter, 'note' | 'progress'>, env = process.env): OpenedTeamCache | undefined {
  const declared = project.pipeline.remoteCache;
  const url = opts.remoteCache ?? (env.PIPE_REMOTE_CACHE || undefined) ?? declared?.url;
  if (!url) return undefined;
  const endpoint = parseEndpoint(url, env);
  // PIPE_REMOTE_CACHE_READ_ONLY=0 is how CI writes to the team cache that pipeline.yaml declares read-only for laptops
  const envSays = env.PIPE_REMOTE_CACHE_READ_ONLY;
  const declaredReadOnly = url === declared?.url && declared.readOnly && !(envSays !== undefined && envSays !== '' && !truthy(envSays));
  const readOnly = !!opts.remoteCacheReadOnly || truthy(envSays) || !!declaredReadOnly;
  const secret = env.PIPE_REMOTE_CACHE_SECRET || undefined;
  let team: TeamCache | undefined;
  const layer = teamCacheLayer((local) => (team = new TeamCache(endpoint, local, {
    readOnly,
    secret,
    warn: (text) => reporter.note(`pipe: ${text}`),
    client: clientTuning(env),
    progress: (file, done, total, finished) => reporter.progress({ type: 'progress', stage: 'remote-cache', file, bytes: done, total, done: finished }),
  })));
  return { layer, team: () => team };
}

/** The NDJSON summary's `remote` field. */
export function remoteSummary(stats: TeamCacheStats): Record<string, unknown> {
  const refused = Object.values(stats.refused).reduce((a, b) => a + b, 0);
  return { url: stats.url, lookups: stats.lookups, hits: stats.hits, refused, refusedBy: stats.refused, downloadedBytes: stats.downloadedBytes, uploaded: stats.uploaded, uploadedBytes: stats.uploadedBytes, ...(stats.unavailable ? { unavailable: true } : {}) };
}

/** One line for people: what the team cache did in this command. */
export function remoteLine(stats: TeamCacheStats): string {
  const refused = Object.entries(stats.refused).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`);
  const parts = [`${stats.hits} of ${stats.lookups} looked up found`, `${bytes(stats.downloadedBytes)} down`, `${stats.uploaded} uploaded (${bytes(stats.uploadedBytes)})`];
  if (refused.length) parts.push(`records refused: ${refused.join(', ')}`);
  return `team cache ${stats.url}: ${parts.join(', ')}`;
}

/** PIPE_REMOTE_CACHE_STALL_MS: how long a transfer may go without a byte (default 10 s). */
function clientTuning(env: NodeJS.ProcessEnv): { stallMs?: number } {
  const stall = Number(env.PIPE_REMOTE_CACHE_STALL_MS);
  return Number.isFinite(stall) && stall > 0 ? { stallMs: stall } : {};
}

function truthy(v: string | undefined): boolean {
  return !!v && !['0', 'false', 'no', ''].includes(v.toLowerCase());
}
