/**
 * A stage record in the team cache (`ac/<key>`): the outputs a run with that key produced, the SHA-256 of
 * every blob they are made of (the content address on the server; the local store may use its faster
 * digest) and the listings of its folders. With a secret, the record is signed: HMAC-SHA256 over its
 * canonical JSON, key included, so a record moved to another key or altered on the server is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TreeEntry } from '../hash/types.js';
import type { OutputRecord } from '../state/records.js';

export const RECORD_FORMAT = 1;

export interface RemoteRecord {
  format: number;
  key: string;
  outputHash: string;
  outs: OutputRecord[];
  /** local digest of a blob -> its SHA-256 and size */
  blobs: Record<string, { sha256: string; size: number }>;
  /** folder hash -> its entries */
  trees: Record<string, TreeEntry[]>;
  /** a fetch stage's model snapshot: its files, whose blobs are keyed by etag in `blobs` */
  snapshot?: { commit: string; files: { path: string; etag: string; size: number }[] };
  /** SHA-256 -> the bytes (base64) of the small blobs, so restoring them needs no request of their own */
  inline?: Record<string, string>;
  /** hex HMAC-SHA256, when written with a secret */
  sig?: string;
}

export type Refusal = 'unsigned' | 'bad-signature' | 'other-key' | 'malformed';

export function signRecord(record: Omit<RemoteRecord, 'sig'>, secret: string | undefined): RemoteRecord {
  return secret ? { ...record, sig: mac(record, secret) } : { ...record };
}

/** The record stored under `key`, or why it is refused. */
export function readRecord(text: string, key: string, secret: string | undefined): { record: RemoteRecord } | { refused: Refusal } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { refused: 'malformed' };
  }
  if (!wellFormed(parsed)) return { refused: 'malformed' };
  const { sig, ...body } = parsed;
  if (secret) {
    if (typeof sig !== 'string') return { refused: 'unsigned' };
    const want = Buffer.from(mac(body, secret), 'hex');
    const got = Buffer.from(sig, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { refused: 'bad-signature' };
  }
  if (parsed.key !== key) return { refused: 'other-key' };
  return { record: parsed };
}

function mac(body: Omit<RemoteRecord, 'sig'>, secret: string): string {
  return createHmac('sha256', secret).update(canonical(body)).digest('hex');
}

/** JSON with object keys sorted at every level: the same record always signs the same. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const SHA256 = /^[0-9a-f]{64}$/;

function wellFormed(v: unknown): v is RemoteRecord {
  const r = v as RemoteRecord;
  if (!r || typeof r !== 'object' || r.format !== RECORD_FORMAT || typeof r.key !== 'string' || typeof r.outputHash !== 'string') return false;
  if (!Array.isArray(r.outs) || !r.blobs || typeof r.blobs !== 'object' || !r.trees || typeof r.trees !== 'object') return false;
  const outsOk = r.outs.every((o) => o && typeof o.path === 'string' && ['file', 'dir', 'missing'].includes(o.kind) && typeof o.hash === 'string' && typeof o.size === 'number');
  const blobsOk = Object.values(r.blobs).every((b) => b && SHA256.test(b.sha256) && Number.isSafeInteger(b.size) && b.size >= 0);
  const treesOk = Object.values(r.trees).every((t) => Array.isArray(t));
  const inlineOk = r.inline === undefined || (typeof r.inline === 'object' && r.inline !== null && Object.entries(r.inline).every(([k, v]) => SHA256.test(k) && typeof v === 'string'));
  return outsOk && blobsOk && treesOk && inlineOk && (r.snapshot === undefined || snapshotOk(r));
}

const COMMIT = /^[0-9a-f]{40}$/;
const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A snapshot's files become paths under the model cache: each must be a plain relative path, each etag a
 * hub etag, and an etag that is a SHA-256 the very SHA-256 its blob is stored under (so checking one checks both).
 */
function snapshotOk(r: RemoteRecord): boolean {
  const snap = r.snapshot!;
  if (!snap || typeof snap !== 'object' || typeof snap.commit !== 'string' || !COMMIT.test(snap.commit) || !Array.isArray(snap.files)) return false;
  return snap.files.every((f) => {
    if (!f || typeof f.path !== 'string' || typeof f.etag !== 'string' || !ETAG.test(f.etag) || !Number.isSafeInteger(f.size)) return false;
    const parts = f.path.split('/');
    if (f.path.startsWith('/') || f.path.includes('\\') || f.path.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) return false;
    const blob = r.blobs[f.etag];
    return !!blob && blob.size === f.size && (f.etag.length !== 64 || blob.sha256 === f.etag);
  });
}
