import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IHasher } from 'hash-wasm';

// The single-algorithm bundle: loading all of hash-wasm costs more than a no-op run of a small pipeline.
const { createXXHash128 } = createRequire(import.meta.url)('hash-wasm/dist/xxhash128.umd.min.js') as typeof import('hash-wasm');

/**
 * XXH3-128 (canonical big-endian hex, the same as `xxhsum -H2`), chosen by measurement:
 * see docs/hashing.md. It is a content address for non-adversarial build data, not a MAC.
 */
export const DIGEST_NAME = 'xxh128';

/** Bytes read per chunk: large enough to amortize the wasm call, small enough (~1 ms) not to stall a spinner. */
export const CHUNK_BYTES = 4 << 20;

const shared = await createXXHash128();
const idle: IHasher[] = [];

export function digestBytes(data: Uint8Array | string): string {
  shared.init();
  shared.update(data);
  return shared.digest('hex');
}

/** Digest a whole file with async reads, reading the next chunk while the current one is hashed. */
export async function digestFile(absPath: string): Promise<{ hash: string; size: number }> {
  const hasher = idle.pop() ?? (await createXXHash128());
  const file = await open(absPath, 'r');
  try {
    hasher.init();
    const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
    let which = 0;
    let size = 0;
    let pending = file.read(buffers[which], 0, CHUNK_BYTES, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[which];
      size += bytesRead;
      which ^= 1;
      pending = file.read(buffers[which], 0, CHUNK_BYTES, size);
      hasher.update(current.subarray(0, bytesRead));
    }
    return { hash: hasher.digest('hex'), size };
  } finally {
    await file.close();
    idle.push(hasher);
  }
}

/** An incremental digest, for bytes that stream past (a download) rather than sit in a file. */
export async function newDigest(): Promise<{ update(data: Uint8Array): void; hex(): string }> {
  const hasher = await createXXHash128();
  hasher.init();
  return { update: (data) => void hasher.update(data), hex: () => hasher.digest('hex') };
}
