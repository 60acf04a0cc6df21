/**
 * The huggingface_hub cache layout (see docs/models.md for what was checked against its docs):
 *   <HF_HUB_CACHE>/models--org--name/blobs/<etag>
 *   <HF_HUB_CACHE>/models--org--name/snapshots/<commit>/<path>  -> ../../blobs/<etag> (one more ../ per folder)
 *   <HF_HUB_CACHE>/models--org--name/refs/<branch>              the commit, no newline
 */
import { lstat, mkdir, readFile, readdir, readlink, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HfFetch } from '../pipeline/types.js';

export const COMMIT_HEX = /^[0-9a-f]{40}$/;

export function repoFolder(hubCache: string, spec: Pick<HfFetch, 'hf' | 'repoType'>): string {
  const type = spec.repoType ?? 'model';
  return path.join(hubCache, [`${type}s`, ...spec.hf.split('/')].join('--'));
}

export function blobPath(repoDir: string, etag: string): string {
  return path.join(repoDir, 'blobs', etag);
}

export function snapshotPath(repoDir: string, commit: string, file: string): string {
  return path.join(repoDir, 'snapshots', commit, ...file.split('/'));
}

export function refPath(repoDir: string, revision: string): string {
  return path.join(repoDir, 'refs', ...revision.split('/'));
}

/** The relative target huggingface_hub writes: from the link's folder to the blob. */
export function linkTarget(repoDir: string, commit: string, file: string, etag: string): string {
  return path.relative(path.dirname(snapshotPath(repoDir, commit, file)), blobPath(repoDir, etag));
}

/** Make `snapshots/<commit>/<file>` point at the blob; an existing right link is left alone. */
export async function ensureLink(repoDir: string, commit: string, file: string, etag: string): Promise<void> {
  const link = snapshotPath(repoDir, commit, file);
  const target = linkTarget(repoDir, commit, file, etag);
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await mkdir(path.dirname(link), { recursive: true });
  const temp = `${link}.pipe-${process.pid}-${Date.now()}.tmp`;
  await symlink(target, temp);
  await rename(temp, link);
}

export async function readRef(repoDir: string, revision: string): Promise<string | undefined> {
  try {
    const text = (await readFile(refPath(repoDir, revision), 'utf8')).trim();
    return COMMIT_HEX.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const file = refPath(repoDir, revision);
  if ((await readRef(repoDir, revision)) === commit) return;
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.pipe-${process.pid}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, file);
}

export async function resolveLocalCommit(repoDir: string, revision: string): Promise<string | undefined> {
  return COMMIT_HEX.test(revision) ? revision : readRef(repoDir, revision);
}

/** Every file of a cached snapshot with the blob it links to; undefined when the snapshot folder is absent. */
export async function listSnapshot(repoDir: string, commit: string): Promise<{ path: string; etag: string | undefined }[] | undefined> {
  const root = path.join(repoDir, 'snapshots', commit);
  if (!(await lstat(root).catch(() => undefined))?.isDirectory()) return undefined;
  const out: { path: string; etag: string | undefined }[] = [];
  await walk(root, '', out, repoDir);
  return out;
}

async function walk(dir: string, prefix: string, out: { path: string; etag: string | undefined }[], repoDir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await walk(full, rel, out, repoDir);
    else if (entry.isSymbolicLink()) {
      const target = path.resolve(dir, await readlink(full));
      const inBlobs = path.dirname(target) === path.join(repoDir, 'blobs');
      out.push({ path: rel, etag: inBlobs ? path.basename(target) : undefined });
    } else out.push({ path: rel, etag: undefined });
  }
}

export async function removeQuietly(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
