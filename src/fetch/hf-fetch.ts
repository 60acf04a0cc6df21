/** A Hugging Face snapshot: check it without the network, or download what is missing into the hub cache layout. */
import { mkdir, readlink, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { HfFetch } from '../pipeline/types.js';
import type { FetchContext } from './context.js';
import { downloadVerified } from './download.js';
import { FetchError } from './errors.js';
import { type Expected, SHA1_HEX, SHA256_HEX, fileMatches } from './hashing.js';
import { type FileMeta, type Sibling, getRevisionInfo, headFile } from './hf-api.js';
import {
  COMMIT_HEX, blobPath, ensureLink, linkTarget, listSnapshot, removeQuietly, repoFolder, resolveLocalCommit, snapshotPath, writeRef,
} from './hf-layout.js';
import { throwIfAborted } from './http.js';
import { fetchIdentity, snapshotDigest } from './identity.js';
import { runPool } from './pool.js';
import { type FileStamp, type HfRecord, readRecord, stampOf, writeRecord } from './record.js';
import { progressReporter } from './progress.js';
import type { CheckResult, RunResult } from './types.js';
import { formatBytes } from './units.js';

interface PlannedFile {
  path: string;
  etag?: string;
  size?: number;
}

export async function checkHf(spec: HfFetch, ctx: FetchContext): Promise<CheckResult> {
  const repoDir = repoFolder(ctx.hubCache, spec);
  const commit = await resolveLocalCommit(repoDir, spec.revision);
  if (!commit) return { fresh: false, reason: `${spec.hf}: revision ${spec.revision} is not in the cache` };
  const record = await readRecord(ctx.root, fetchIdentity(spec));
  if (!record || record.kind !== 'hf') return { fresh: false, reason: `${spec.hf}@${short(commit)} was never fetched and verified by pipe` };
  if (record.commit !== commit) {
    return { fresh: false, reason: `${spec.hf}: ${spec.revision} now points at ${short(commit)}, verified was ${short(record.commit)}` };
  }
  const broken = await firstBrokenFile(repoDir, record);
  if (broken) return { fresh: false, reason: `${spec.hf}: ${broken}` };
  return { fresh: true, outputHash: snapshotDigest(commit, record.files) };
}

/** Stat checks only: every link in place, every blob with the size and mtime it had when verified. */
async function firstBrokenFile(repoDir: string, record: HfRecord): Promise<string | undefined> {
  for (const file of record.files) {
    const link = await readlink(snapshotPath(repoDir, record.commit, file.path)).catch(() => undefined);
    if (link !== linkTarget(repoDir, record.commit, file.path, file.etag)) return `${file.path} is missing from the snapshot`;
    const now = await stampOf(blobPath(repoDir, file.etag));
    if (!now || now.size !== file.size || now.mtimeMs !== file.mtimeMs) return `${file.path} changed on disk since it was verified`;
  }
  return undefined;
}

export async function runHf(spec: HfFetch, ctx: FetchContext): Promise<RunResult> {
  const repoDir = repoFolder(ctx.hubCache, spec);
  if (ctx.offline) return adoptCachedSnapshot(spec, ctx, repoDir);
  const info = await getRevisionInfo(ctx, spec);
  const files = selectFiles(spec, info.siblings);
  const commit = info.sha;
  let downloaded = 0;
  const stamps = await runPool(files, ctx.concurrency ?? 4, async (file) => {
    const { stamp, received } = await fetchFile(spec, ctx, repoDir, commit, file);
    downloaded += received;
    return stamp;
  });
  throwIfAborted(ctx);
  // Links only once every blob is complete, so even huggingface_hub never sees a half-made snapshot.
  for (const s of stamps) await ensureLink(repoDir, commit, s.path, s.etag);
  await writeRef(repoDir, spec.revision, commit);
  return finish(spec, ctx, commit, stamps, downloaded);
}

async function finish(spec: HfFetch, ctx: FetchContext, commit: string, stamps: FileStamp[], downloaded: number): Promise<RunResult> {
  await writeRecord(ctx.root, { kind: 'hf', identity: fetchIdentity(spec), repo: spec.hf, commit, files: stamps });
  const bytes = stamps.reduce((sum, s) => sum + s.size, 0);
  if (spec.revision !== commit) ctx.log(`${spec.hf}: ${spec.revision} resolved to ${commit} (pin it with the pin command)`);
  return { outputHash: snapshotDigest(commit, stamps), commit, files: stamps.length, bytes, downloaded };
}

function selectFiles(spec: HfFetch, siblings: Sibling[]): PlannedFile[] {
  const wanted = spec.include?.length ? picomatch(spec.include, { dot: true }) : () => true;
  const files = siblings
    .filter((s) => wanted(s.rfilename))
    .map((s) => ({ path: s.rfilename, etag: s.lfs?.sha256 ?? s.blobId, size: s.lfs?.size ?? s.size }));
  if (files.length === 0) {
    throw new FetchError(`${spec.hf}@${spec.revision}: no file matches include ${JSON.stringify(spec.include ?? [])}`);
  }
  return files;
}

function expectationFor(etag: string, size: number, label: string): Expected {
  if (SHA256_HEX.test(etag)) return { kind: 'sha256', hex: etag, size };
  if (SHA1_HEX.test(etag)) return { kind: 'git-sha1', hex: etag, size };
  throw new FetchError(`${label}: the etag ${etag} is neither a SHA-256 nor a git SHA-1, so the file cannot be verified`);
}

/** One file: reuse a blob already in the cache when its hash checks out, else HEAD + download. */
async function fetchFile(
  spec: HfFetch, ctx: FetchContext, repoDir: string, commit: string, file: PlannedFile,
): Promise<{ stamp: FileStamp; received: number }> {
  const label = `${spec.hf} ${file.path}`;
  let meta: FileMeta | undefined;
  if (!file.etag || file.size === undefined) meta = await headFile(ctx, spec, commit, file.path);
  const etag = meta?.etag ?? file.etag!;
  const size = meta?.size ?? file.size!;
  const expected = expectationFor(etag, size, label);
  const blob = blobPath(repoDir, etag);
  let received = 0;
  if (!(await reusable(blob, expected))) {
    meta ??= await headFile(ctx, spec, commit, file.path);
    if (meta.etag !== etag) throw new FetchError(`${label}: the file list says ${etag} but the file says ${meta.etag}; the revision changed while fetching`);
    received = await downloadVerified(ctx, {
      url: meta.location,
      temp: `${blob}.incomplete`,
      dest: blob,
      expected,
      label,
      onBytes: progressReporter(ctx, label),
    });
  }
  const now = await stampOf(blob);
  if (!now) throw new FetchError(`${label}: the blob vanished right after it was written`);
  ctx.onProgress?.({ file: label, bytes: size, total: size, done: true });
  ctx.log(`${label} ${formatBytes(size)} ${received > 0 ? 'downloaded' : 'cached'}`);
  return { stamp: { path: file.path, etag, ...now }, received };
}

/** A blob already in the cache (by pipe or by huggingface_hub) is used when its bytes hash right; a bad one is removed. */
async function reusable(blob: string, expected: Expected): Promise<boolean> {
  const s = await stat(blob).catch(() => undefined);
  if (!s?.isFile()) return false;
  if (s.size === expected.size && (await fileMatches(blob, expected))) return true;
  await removeQuietly(blob);
  return false;
}

/** --offline: accept a snapshot that is on disk (e.g. from huggingface_hub) after hashing its blobs; never a request. */
async function adoptCachedSnapshot(spec: HfFetch, ctx: FetchContext, repoDir: string): Promise<RunResult> {
  const missing = (why: string) =>
    new FetchError(
      `${spec.hf}@${spec.revision} is not in the cache (${repoDir}): ${why}. --offline forbids downloading it; ` +
        'run its fetch stage once without --offline on a machine with network access.',
    );
  const checked = await checkHf(spec, ctx);
  const commit = await resolveLocalCommit(repoDir, spec.revision);
  if (!commit) throw missing(`no refs/${spec.revision}`);
  if (checked.fresh) {
    const record = (await readRecord(ctx.root, fetchIdentity(spec))) as HfRecord;
    return finish(spec, ctx, commit, record.files, 0);
  }
  const listing = await listSnapshot(repoDir, commit);
  if (!listing) throw missing(`no snapshot ${commit}`);
  const wanted = spec.include?.length ? picomatch(spec.include, { dot: true }) : () => true;
  const stamps: FileStamp[] = [];
  for (const entry of listing.filter((e) => wanted(e.path))) {
    throwIfAborted(ctx);
    const size = entry.etag ? (await stampOf(blobPath(repoDir, entry.etag)))?.size : undefined;
    if (!entry.etag || size === undefined) throw missing(`${entry.path} does not link to a blob`);
    const blob = blobPath(repoDir, entry.etag);
    if (!(await fileMatches(blob, expectationFor(entry.etag, size, `${spec.hf} ${entry.path}`)))) throw missing(`${entry.path} does not match its hash`);
    stamps.push({ path: entry.path, etag: entry.etag, ...(await stampOf(blob))! });
    ctx.log(`${spec.hf} ${entry.path} ${formatBytes(size)} verified`);
  }
  if (stamps.length === 0) throw missing(`the snapshot has no file matching ${JSON.stringify(spec.include ?? [])}`);
  return finish(spec, ctx, commit, stamps, 0);
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

/** A snapshot as the team cache shares it: the commit and each file with its etag and size. */
export interface SharedHfSnapshot {
  commit: string;
  files: { path: string; etag: string; size: number }[];
}

export type SharedDownload = (file: SharedHfSnapshot['files'][number], dest: string, onBytes: (n: number) => void) => Promise<void>;

/**
 * Puts a snapshot shared by the team cache into the hub layout, without asking the hub: each blob is
 * checked against its etag (a SHA-256 one by the download itself, a git SHA-1 one here), the links made
 * only once every blob is complete, then the ref and pipe's record, as a fetch from the hub leaves them.
 */
export async function restoreShared(spec: HfFetch, ctx: FetchContext, shared: SharedHfSnapshot, download: SharedDownload): Promise<RunResult> {
  if (COMMIT_HEX.test(spec.revision) && spec.revision !== shared.commit) {
    throw new FetchError(`${spec.hf}: the team cache holds commit ${short(shared.commit)}, not the pinned ${short(spec.revision)}`);
  }
  const repoDir = repoFolder(ctx.hubCache, spec);
  let downloaded = 0;
  const stamps = await runPool(shared.files, ctx.concurrency ?? 4, async (file) => {
    const label = `${spec.hf} ${file.path}`;
    const expected = expectationFor(file.etag, file.size, label);
    const blob = blobPath(repoDir, file.etag);
    const fetched = !(await reusable(blob, expected));
    if (fetched) {
      const temp = `${blob}.incomplete`;
      await mkdir(path.dirname(blob), { recursive: true });
      try {
        const report = progressReporter(ctx, label);
        let got = 0;
        await download(file, temp, (n) => report((got += n), file.size));
        if (expected.kind === 'git-sha1' && !(await fileMatches(temp, expected))) throw new FetchError(`${label}: the team cache's copy does not match its etag ${file.etag}`);
        await rename(temp, blob);
      } finally {
        await removeQuietly(temp);
      }
      downloaded += file.size;
    }
    const now = await stampOf(blob);
    if (!now) throw new FetchError(`${label}: the blob vanished right after it was written`);
    ctx.onProgress?.({ file: label, bytes: file.size, total: file.size, done: true });
    ctx.log(`${label} ${formatBytes(file.size)} ${fetched ? 'from the team cache' : 'cached'}`);
    return { path: file.path, etag: file.etag, ...now };
  });
  throwIfAborted(ctx);
  for (const s of stamps) await ensureLink(repoDir, shared.commit, s.path, s.etag);
  await writeRef(repoDir, spec.revision, shared.commit);
  return finish(spec, ctx, shared.commit, stamps, downloaded);
}

/** The verified snapshot on disk for this spec (to share it), with where each file's blob is; undefined when not fresh. */
export async function sharedHf(spec: HfFetch, ctx: FetchContext): Promise<{ snapshot: SharedHfSnapshot; blobOf: (f: { etag: string }) => string } | undefined> {
  if (!(await checkHf(spec, ctx)).fresh) return undefined;
  const record = await readRecord(ctx.root, fetchIdentity(spec));
  if (!record || record.kind !== 'hf') return undefined;
  const repoDir = repoFolder(ctx.hubCache, spec);
  return {
    snapshot: { commit: record.commit, files: record.files.map((f) => ({ path: f.path, etag: f.etag, size: f.size })) },
    blobOf: (f) => blobPath(repoDir, f.etag),
  };
}
