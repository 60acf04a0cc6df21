/**
 * What pipe remembers about a verified fetch, under <root>/.pipe/fetch/: the files and the stat of each
 * blob when its hash was checked. A later check compares stats only (no hashing, no request), so a no-op
 * check of many gigabytes of models costs milliseconds.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Text } from './hashing.js';

export interface FileStamp {
  path: string;
  etag: string;
  size: number;
  mtimeMs: number;
}

export interface HfRecord {
  kind: 'hf';
  identity: string;
  repo: string;
  commit: string;
  files: FileStamp[];
}

export interface UrlRecord {
  kind: 'url';
  identity: string;
  file: string;
  sha256: string;
  size: number;
  mtimeMs: number;
}

export type FetchRecord = HfRecord | UrlRecord;

export function recordPath(root: string, identity: string): string {
  return path.join(root, '.pipe', 'fetch', `${sha256Text(identity).slice(0, 32)}.json`);
}

export async function readRecord(root: string, identity: string): Promise<FetchRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath(root, identity), 'utf8')) as FetchRecord;
    return record.identity === identity ? record : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRecord(root: string, record: FetchRecord): Promise<void> {
  const file = recordPath(root, record.identity);
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 1)}\n`);
  await rename(temp, file);
}

/** The stat part of a stamp, read now. */
export async function stampOf(file: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}
