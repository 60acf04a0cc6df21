/**
 * The two digests of a blob that streams in (SHA-256: its team-cache address; xxh128: its local name, left
 * out when the caller has no use for it or already knows it), computed while it downloads. A large blob is hashed on two worker threads (one per digest), so hashing
 * overlaps the socket reads and the writes instead of following them on the main thread; the bytes sit in
 * a few recycled shared buffers that both threads read (never copied), which also bounds the memory used.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { newDigest } from '../hash/digest.js';

export interface StreamDigests {
  /** A buffer to fill (at most `size` bytes); waits while every buffer is still being hashed. */
  take(): Promise<Buffer>;
  /**
   * Hashes the first `n` bytes of a buffer from `take`, in the order given; the buffer is given back once
   * they are hashed and `held` (its writes to disk, running meanwhile) has settled.
   */
  update(buf: Buffer, n: number, held?: Promise<unknown>): void;
  /** Starts over (a download that restarts from its first byte). */
  reset(): Promise<void>;
  /** Both digests of every byte given so far (`local` only when asked for). */
  result(): Promise<{ sha256: string; local?: string }>;
  close(): Promise<void>;
}

/** bytes per buffer handed over; the pool holds BUFFERS of them */
export const BUFFER_BYTES = 4 << 20;
const BUFFERS = 8;
/** blobs from this size are hashed on a worker (starting one costs a few tens of milliseconds) */
const WORKER_FROM_BYTES = 32 << 20;

export async function streamDigests(size: number, local = true): Promise<StreamDigests> {
  return size >= WORKER_FROM_BYTES ? WorkerDigests.start(local) : InlineDigests.start(local);
}

/**
 * One hash on its own thread, in plain JS run with `eval` (the same in the tsc build and in the bundle, which
 * has no file for a worker). It reads the shared buffers in the order their indexes come and says when it is
 * done with each; the two hashes run side by side, each on the same bytes, none of them copied.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const views = workerData.buffers.map((b) => new Uint8Array(b));
const start = async () => {
  if (workerData.algorithm === 'sha256') {
    let h;
    return { init: () => { h = createHash('sha256'); }, update: (b) => h.update(b), digest: () => h.digest('hex') };
  }
  const h = await require(workerData.xxhash).createXXHash128();
  return { init: () => h.init(), update: (b) => h.update(b), digest: () => h.digest('hex') };
};
start().then((hash) => {
  hash.init();
  parentPort.on('message', (m) => {
    if (m.type === 'data') {
      hash.update(views[m.index].subarray(0, m.n));
      parentPort.postMessage({ type: 'free', index: m.index });
    } else if (m.type === 'reset') {
      hash.init();
      parentPort.postMessage({ type: 'reset' });
    } else if (m.type === 'result') {
      parentPort.postMessage({ type: 'result', hex: hash.digest('hex') });
    }
  });
  parentPort.postMessage({ type: 'ready' });
});
`;

type Reply = { type: 'free'; index: number } | { type: 'reset' } | { type: 'result'; hex: string } | { type: 'ready' };

/** One hashing thread: its answers come in the order of the requests. */
class HashThread {
  private readonly answers: ((r: Reply | Error) => void)[] = [];
  failure: Error | undefined;

  constructor(private readonly worker: Worker, onFree: (index: number) => void, onFailure: () => void) {
    worker.on('message', (r: Reply) => {
      if (r.type === 'free') onFree(r.index);
      else this.answers.shift()?.(r);
    });
    worker.on('error', (err) => {
      this.failure = err;
      for (const answer of this.answers.splice(0)) answer(err);
      onFailure();
    });
  }

  send(message: object): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(message);
  }

  /** The reply to `message` (undefined: the first message, 'ready'), after every buffer sent before it. */
  async ask(message?: object): Promise<Reply> {
    const reply = new Promise<Reply | Error>((resolve) => this.answers.push(resolve));
    if (message) this.send(message);
    const r = await reply;
    if (r instanceof Error) throw r;
    return r;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

class WorkerDigests implements StreamDigests {
  private readonly free: number[] = [];
  /** threads still reading each buffer */
  private readonly readers: number[] = [];
  private waiting: (() => void) | undefined;

  /** `threads`: SHA-256's, then xxh128's when the local digest is asked for */
  private constructor(private readonly buffers: Buffer[], private readonly threads: HashThread[]) {}

  static async start(local: boolean): Promise<WorkerDigests> {
    const xxhash = createRequire(import.meta.url).resolve('hash-wasm/dist/xxhash128.umd.min.js');
    const shared = Array.from({ length: BUFFERS }, () => new SharedArrayBuffer(BUFFER_BYTES));
    let digests: WorkerDigests | undefined;
    const onFree = (i: number) => digests?.release(i);
    const onFailure = () => digests?.wake();
    const thread = (algorithm: string) => new HashThread(new Worker(WORKER_SOURCE, { eval: true, workerData: { algorithm, xxhash, buffers: shared } }), onFree, onFailure);
    const threads = local ? [thread('sha256'), thread('xxh128')] : [thread('sha256')];
    digests = new WorkerDigests(shared.map((b) => Buffer.from(b)), threads);
    for (let i = 0; i < BUFFERS; i++) digests.free.push(i);
    try {
      await Promise.all(threads.map((t) => t.ask()));
    } catch (err) {
      await digests.close();
      throw err;
    }
    return digests;
  }

  async take(): Promise<Buffer> {
    while (!this.free.length) {
      this.check();
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.buffers[this.free.pop()!]!;
  }

  update(buf: Buffer, n: number, held?: Promise<unknown>): void {
    const index = this.buffers.indexOf(buf);
    if (index < 0) throw new Error('not a buffer of this download');
    this.readers[index] = this.threads.length + (held ? 1 : 0);
    for (const t of this.threads) t.send({ type: 'data', index, n });
    held?.then(() => this.release(index), () => this.release(index));
  }

  async reset(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.ask({ type: 'reset' })));
  }

  async result(): Promise<{ sha256: string; local?: string }> {
    const [sha256, local] = await Promise.all(this.threads.map((t) => t.ask({ type: 'result' })));
    if (sha256?.type !== 'result' || (local && local.type !== 'result')) throw new Error('a hashing thread stopped');
    return local?.type === 'result' ? { sha256: sha256.hex, local: local.hex } : { sha256: sha256.hex };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  private release(index: number): void {
    if (--this.readers[index]! > 0) return;
    this.free.push(index);
    this.wake();
  }

  private wake(): void {
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.();
  }

  private check(): void {
    const failure = this.threads.find((t) => t.failure)?.failure;
    if (failure) throw failure;
  }
}

/** A small blob: hashed on the main thread, as it comes. */
class InlineDigests implements StreamDigests {
  private sha = createHash('sha256');
  private readonly free: Buffer[] = [];

  private constructor(private local: Awaited<ReturnType<typeof newDigest>> | undefined) {
    for (let i = 0; i < 2; i++) this.free.push(Buffer.allocUnsafeSlow(BUFFER_BYTES >> 2));
  }

  static async start(local: boolean): Promise<InlineDigests> {
    return new InlineDigests(local ? await newDigest() : undefined);
  }

  async take(): Promise<Buffer> {
    // a buffer is free again once hashed (at once): one in flight at a time is enough
    return this.free.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES >> 2);
  }

  update(buf: Buffer, n: number, held?: Promise<unknown>): void {
    const bytes = buf.subarray(0, n);
    this.sha.update(bytes);
    this.local?.update(bytes);
    const giveBack = () => void this.free.push(buf);
    if (held) held.then(giveBack, giveBack);
    else giveBack();
  }

  async reset(): Promise<void> {
    this.sha = createHash('sha256');
    if (this.local) this.local = await newDigest();
  }

  async result(): Promise<{ sha256: string; local?: string }> {
    return this.local ? { sha256: this.sha.digest('hex'), local: this.local.hex() } : { sha256: this.sha.digest('hex') };
  }

  async close(): Promise<void> {}
}
