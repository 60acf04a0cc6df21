/** Where fetch stages read their settings from: the cache roots, the endpoint, the token, the retry policy. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface FetchProgress {
  stage?: string;
  file: string;
  bytes: number;
  total: number;
  done: boolean;
}

export interface FetchContext {
  /** project root (absolute) */
  root: string;
  /** HF_HUB_CACHE (absolute) = <hf_home>/hub */
  hubCache: string;
  /** TORCH_HOME (absolute) */
  torchHome: string;
  /** HF_ENDPOINT or https://huggingface.co, without a trailing slash */
  endpoint: string;
  /** HF_TOKEN, else <root>/config/hf-token, else <hf_home>/token (first line) */
  token?: string;
  /** no request at all; a missing model is an error naming it */
  offline: boolean;
  signal: AbortSignal;
  /** files in parallel (default 4) */
  concurrency?: number;
  /** attempts after the first one for a failing request (default 5; env PIPE_FETCH_RETRIES) */
  retries?: number;
  /** first backoff delay in ms, doubled per attempt, capped at 30 s (default 500; env PIPE_FETCH_RETRY_BASE_MS) */
  retryBaseMs?: number;
  onProgress?: (p: FetchProgress) => void;
  /** one line per file; never contains the token */
  log: (line: string) => void;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export function resolveFetchContext(
  root: string,
  hubCache: string,
  torchHome: string,
  opts: { offline: boolean; signal: AbortSignal },
): FetchContext {
  const env = process.env;
  return {
    root,
    hubCache,
    torchHome,
    endpoint: (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token: readToken(root, hubCache),
    offline: opts.offline,
    signal: opts.signal,
    retries: intFromEnv(env.PIPE_FETCH_RETRIES),
    retryBaseMs: intFromEnv(env.PIPE_FETCH_RETRY_BASE_MS),
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

function intFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The token huggingface_hub would use, restricted to places inside the project. */
export function readToken(root: string, hubCache: string): string | undefined {
  const fromEnv = process.env.HF_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  // config/hf-token is git-ignored; <hf_home>/token is where `hf auth login` writes under `pipe env`.
  for (const file of [path.join(root, 'config', 'hf-token'), path.join(path.dirname(hubCache), 'token')]) {
    const line = firstLine(file);
    if (line) return line;
  }
  return undefined;
}

function firstLine(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/)[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
