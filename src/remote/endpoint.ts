/**
 * Where the team cache is and how to authenticate: the URL from --remote-cache, PIPE_REMOTE_CACHE or
 * `remote_cache:`; a bearer token (PIPE_REMOTE_CACHE_TOKEN), else user:password from the URL, else the
 * machine's entry in ~/.netrc (or $NETRC). The URL is only ever shown without its userinfo.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { UserError } from '../util/errors.js';

export interface RemoteEndpoint {
  /** the URL without userinfo, query or trailing slash: blobs are `${base}/cas/<sha256>` */
  base: string;
  /** what messages show (same as base: it never holds credentials) */
  shown: string;
  /** the Authorization header, when there are credentials */
  authorization?: string;
}

export function parseEndpoint(raw: string, env: NodeJS.ProcessEnv = process.env): RemoteEndpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`--remote-cache ${withoutUserinfo(raw)}: not a URL (expected http://host[:port]/path)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--remote-cache ${withoutUserinfo(raw)}: only http:// and https:// team caches are supported`);
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const base = url.toString().replace(/\/+$/, '');
  const token = env.PIPE_REMOTE_CACHE_TOKEN?.trim();
  const authorization = token
    ? `Bearer ${token}`
    : user || password
      ? basic(user, password)
      : netrcAuthorization(url.hostname, env);
  return { base, shown: base, ...(authorization ? { authorization } : {}) };
}

/** The user:password part of a URL (to mask it wherever text is printed or stored), if any. */
export function urlCredentials(raw: string): string[] {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return [];
    return [url.password, decodeURIComponent(url.password), `${url.username}:${url.password}`].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

export function withoutUserinfo(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The login and password of `machine HOST` (or `default`) in the netrc file, as a Basic header. */
function netrcAuthorization(host: string, env: NodeJS.ProcessEnv): string | undefined {
  let text: string;
  try {
    text = readFileSync(env.NETRC ?? path.join(env.HOME ?? homedir(), '.netrc'), 'utf8');
  } catch {
    return undefined;
  }
  const words = text.replace(/^\s*#.*$/gm, '').split(/\s+/).filter(Boolean);
  let current: { login?: string; password?: string } | undefined;
  let found: { login?: string; password?: string } | undefined;
  let fallback: { login?: string; password?: string } | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'machine') {
      current = {};
      if (words[++i] === host) found ??= current;
    } else if (w === 'default') {
      current = {};
      fallback ??= current;
    } else if ((w === 'login' || w === 'password') && current) {
      current[w] = words[++i];
    } else if (w === 'macdef') break;
  }
  const entry = found ?? fallback;
  return entry && (entry.login || entry.password) ? basic(entry.login ?? '', entry.password ?? '') : undefined;
}
