/** The two hub requests the client makes: the file list of a revision, and the metadata (HEAD) of one file. */
import type { HfFetch } from '../pipeline/types.js';
import type { FetchContext } from './context.js';
import { FetchError, redact } from './errors.js';
import { HttpStatusError, send, withRetry } from './http.js';

export interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256: string; size: number };
}

export interface RevisionInfo {
  sha: string;
  siblings: Sibling[];
}

export interface FileMeta {
  etag: string;
  size: number;
  /** where to GET the bytes: the resolve URL, or the LFS location it redirected to */
  location: string;
}

function typePath(spec: HfFetch): string {
  return `${spec.repoType ?? 'model'}s`;
}

export function resolveUrl(ctx: FetchContext, spec: HfFetch, commit: string, file: string): string {
  const prefix = spec.repoType === 'dataset' ? 'datasets/' : '';
  const encoded = file.split('/').map(encodeURIComponent).join('/');
  return `${ctx.endpoint}/${prefix}${spec.hf}/resolve/${commit}/${encoded}`;
}

/** GET /api/models/{repo}/revision/{rev}?blobs=true: the commit and every file with its size and etag. */
export async function getRevisionInfo(ctx: FetchContext, spec: HfFetch): Promise<RevisionInfo> {
  const url = `${ctx.endpoint}/api/${typePath(spec)}/${spec.hf}/revision/${encodeURIComponent(spec.revision)}?blobs=true`;
  return withRetry(ctx, `${spec.hf}@${spec.revision}: list files`, async () => {
    try {
      const res = await send(ctx, url, { method: 'GET', followRedirects: true });
      const info = (await res.json()) as Partial<RevisionInfo>;
      if (typeof info.sha !== 'string' || !Array.isArray(info.siblings)) {
        throw new FetchError(`${spec.hf}@${spec.revision}: the hub at ${ctx.endpoint} answered without a commit or file list`);
      }
      return { sha: info.sha, siblings: info.siblings };
    } catch (err) {
      throw explainStatus(ctx, spec, err);
    }
  });
}

/** HEAD /{repo}/resolve/{commit}/{path} without following a redirect to another host, as huggingface_hub does. */
export async function headFile(ctx: FetchContext, spec: HfFetch, commit: string, file: string): Promise<FileMeta> {
  return withRetry(ctx, `${spec.hf} ${file}: metadata`, async () => {
    try {
      let url = resolveUrl(ctx, spec, commit, file);
      for (let hop = 0; hop < 5; hop++) {
        const res = await send(ctx, url, { method: 'HEAD', followRedirects: false });
        const linked = res.headers.get('x-linked-etag');
        const location = res.headers.get('location');
        const isRedirect = res.status >= 300 && res.status < 400 && location;
        if (isRedirect && !linked) {
          url = new URL(location, url).toString(); // a renamed repository: follow, still on the hub
          continue;
        }
        const etag = normalizeEtag(linked ?? res.headers.get('etag'));
        const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'));
        if (!etag || !Number.isFinite(size)) {
          throw new FetchError(`${spec.hf} ${file}: the hub sent no ETag or size, so the file cannot be verified`);
        }
        return { etag, size, location: isRedirect ? new URL(location, url).toString() : url };
      }
      throw new FetchError(`${spec.hf} ${file}: too many redirects`);
    } catch (err) {
      throw explainStatus(ctx, spec, err);
    }
  });
}

/** `W/"abc"` and `"abc"` both name the blob `abc`. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

/** Turn a 4xx into the message a user needs; 5xx stay retriable. */
function explainStatus(ctx: FetchContext, spec: HfFetch, err: unknown): unknown {
  if (!(err instanceof HttpStatusError) || err.retriable) return err;
  const page = `${ctx.endpoint}/${spec.repoType === 'dataset' ? 'datasets/' : ''}${spec.hf}`;
  if (err.status === 401 || err.status === 403) return gatedError(ctx, spec, err.status, page);
  if (err.status === 404) {
    const code = err.headers.get('x-error-code');
    const what = code === 'RevisionNotFound' ? `revision ${spec.revision} of ${spec.hf}` : code === 'EntryNotFound' ? `a file of ${spec.hf}` : spec.hf;
    return new FetchError(`${what} was not found at ${ctx.endpoint} (HTTP 404). Check the name at ${page}.`);
  }
  return new FetchError(`${spec.hf}@${spec.revision}: the hub answered HTTP ${err.status}`);
}

function gatedError(ctx: FetchContext, spec: HfFetch, status: number, page: string): FetchError {
  const sent = ctx.token
    ? 'The token that was sent is not allowed to read it (wrong account, or the licence was not accepted yet).'
    : 'No access token was sent.';
  return new FetchError(
    redact(
      `${spec.hf} is gated or private (HTTP ${status}). ${sent} Accept its licence at ${page} while logged in, ` +
        `create a read token at ${ctx.endpoint}/settings/tokens, and provide it as HF_TOKEN ` +
        'or as the first line of config/hf-token (git-ignored).',
      ctx.token,
    ),
  );
}
