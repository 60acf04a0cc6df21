/**
 * The bytes of one response body into the files of a download: gathered into the large buffers of the
 * digests, each full buffer written to every file with positioned writes (a few in flight, on the thread
 * pool) and hashed meanwhile, in order. `done` reports what is on disk in every file and hashed, so a resume
 * after a dropped connection continues right after it.
 */
import type { FileHandle } from 'node:fs/promises';
import type { StreamDigests } from './stream-digests.js';

/** positioned writes queued at once (each a buffer of the digests' size) */
const WRITES_IN_FLIGHT = 4;

export class BlobWriter {
  private buf: Buffer | undefined;
  private filled = 0;
  private position: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly inFlight: Promise<void>[] = [];

  constructor(private readonly files: FileHandle[], private readonly digests: StreamDigests, from: number, private readonly done: (n: number) => void) {
    this.position = from;
  }

  /** bytes handed over so far, written or not, counted from the blob's start */
  get received(): number {
    return this.position + this.filled;
  }

  /** The free part of the current buffer, for a socket to read into (then `advance`). */
  async space(): Promise<Buffer> {
    if (!this.buf) this.buf = await this.digests.take();
    return this.buf.subarray(this.filled);
  }

  /** `n` bytes were put into `space()`; a full buffer goes to disk (waits while too many writes are queued). */
  async advance(n: number): Promise<void> {
    this.filled += n;
    if (this.filled === this.buf!.length) await this.emit();
  }

  /** A whole buffer to fill outside the writer (a socket reading into it), then given back with `commit`. */
  async take(): Promise<Buffer> {
    return this.digests.take();
  }

  /** The first `n` bytes of a buffer from `take`, next in the blob (nothing may be gathered meanwhile). */
  async commit(buf: Buffer, n: number): Promise<void> {
    if (this.buf) throw new Error('BlobWriter: commit while bytes are gathered');
    this.buf = buf;
    this.filled = n;
    await this.emit();
  }

  /** Copies a chunk in (a body that comes as Node buffers). */
  async copyIn(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length;) {
      const space = await this.space();
      const n = chunk.copy(space, 0, at);
      at += n;
      await this.advance(n);
    }
  }

  /** Writes what is gathered and waits for every write: afterwards `done` has counted all of it. */
  async flush(): Promise<void> {
    try {
      if (this.filled > 0) await this.emit();
    } finally {
      await this.chain;
    }
  }

  private async emit(): Promise<void> {
    const buf = this.buf!;
    const n = this.filled;
    const at = this.position;
    this.buf = undefined;
    this.filled = 0;
    this.position += n;
    const written = Promise.all(this.files.map((f) => f.write(buf, 0, n, at)));
    // hashed while it is written (both only read the buffer), in order; given back once both are done
    this.digests.update(buf, n, written);
    this.chain = this.chain.then(async () => {
      await written;
      this.done(n);
    });
    this.chain.catch(() => undefined); // awaited by flush; not unhandled meanwhile
    this.inFlight.push(this.chain);
    if (this.inFlight.length >= WRITES_IN_FLIGHT) await this.inFlight.shift();
  }
}
