/**
 * A GET of one large blob over plain HTTP/1.1 on a connection of its own, whose body the socket reads
 * straight into the download's buffers (net.Socket's `onread`): node:http hands a body over in 64 KB copies,
 * which costs more CPU than hashing it (measured: about 1.5 s per GB against 0.2 s here; bench/RESULTS.md).
 * Only the response head is parsed here; a response this does not handle plainly (no Content-Length, a
 * transfer encoding) is `Unhandled`, and the caller uses node:http instead.
 */
import net from 'node:net';
import type { BlobWriter } from './blob-writer.js';

/** A response head this reader does not take on: the caller asks again through node:http. */
export class Unhandled extends Error {}

export interface RawResponse {
  status: number;
  header(name: string): string | undefined;
  /** Reads the whole body into `writer`; rejects (ECONNRESET, ETIMEDOUT) when it stops short. */
  body(writer: BlobWriter): Promise<void>;
  /** Closes the connection (the body unread, or done). */
  close(): void;
}

const MAX_HEAD_BYTES = 64 << 10;
/** a socket read is at most this large (loopback: up to 1 MB was seen; the rest waits for the next read) */
const SPILL_BYTES = 1 << 20;

export function rawGet(url: URL, headers: Record<string, string>, signal: AbortSignal, stallMs: number): Promise<RawResponse> {
  if (url.protocol !== 'http:') return Promise.reject(new Unhandled('not plain HTTP'));
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (lines.some((l) => /[\r\n]/.test(l))) return Promise.reject(new Unhandled('a header holds a line break'));
  return new Promise((resolve, reject) => new RawReader(url, lines.join('\r\n') + '\r\n\r\n', signal, stallMs, resolve, reject));
}

/**
 * The socket reads into whatever `next()` returns, and Node asks for it right after each read: so where the
 * next read goes is decided in the read callback, synchronously. Body bytes go into the current buffer of
 * the download; when it is full the socket pauses until the writer has taken it and given a new one, and
 * the one read that was already placed meanwhile lands in `spill` and is copied over.
 */
class RawReader {
  private readonly socket: net.Socket;
  private readonly head = Buffer.allocUnsafe(MAX_HEAD_BYTES);
  private headFilled = 0;
  private readonly spill = Buffer.allocUnsafe(SPILL_BYTES);
  /** body phase: the buffer being filled, how far, and the body bytes not read yet */
  private current: Buffer | undefined;
  private filled = 0;
  private left = -1;
  private timer: NodeJS.Timeout | undefined;
  /** why the connection is over, once it is */
  private gone: Error | undefined;
  /** the body loop waiting for a full buffer (or the end) */
  private wake: ((err?: Error) => void) | undefined;
  private readonly abort = () => this.fail(Object.assign(new Error('interrupted'), { code: 'ABORT_ERR' }));

  constructor(url: URL, request: string, private readonly signal: AbortSignal, private readonly stallMs: number, private readonly resolve: (r: RawResponse) => void, private readonly reject: (err: Error) => void) {
    signal.addEventListener('abort', this.abort, { once: true });
    this.socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: { buffer: () => this.next(), callback: (n, buf) => this.read(n, buf as Buffer) },
    });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => this.socket.write(request));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(Object.assign(new Error('the connection closed early'), { code: 'ECONNRESET' })));
    this.arm();
  }

  private next(): Buffer {
    if (this.left < 0) return this.head.subarray(this.headFilled);
    if (this.current && this.filled < this.current.length) return this.current.subarray(this.filled, this.filled + Math.min(this.current.length - this.filled, this.left));
    return this.spill;
  }

  /** false pauses the socket */
  private read(n: number, buf: Buffer): boolean {
    clearTimeout(this.timer);
    if (this.left < 0) return this.readHead(n);
    if (n > this.left) {
      this.fail(Object.assign(new Error('the server sent more than its Content-Length'), { code: 'ECONNRESET' }));
      return false;
    }
    const current = this.current!;
    // a read placed before the writer gave this buffer (in `spill`, or the head's): copied over
    if (buf.buffer !== current.buffer || buf.byteOffset !== current.byteOffset + this.filled) buf.copy(current, this.filled, 0, n);
    this.filled += n;
    this.left -= n;
    if (this.left > 0 && this.filled < current.length) {
      this.arm();
      return true;
    }
    this.wake?.();
    return false;
  }

  private readHead(n: number): boolean {
    this.headFilled += n;
    const end = this.head.subarray(0, this.headFilled).indexOf('\r\n\r\n');
    if (end >= 0) {
      this.left = 0; // until the body is asked for: the next read goes to `spill`
      try {
        this.resolve(this.response(this.head.subarray(0, end).toString('latin1'), Buffer.from(this.head.subarray(end + 4, this.headFilled))));
      } catch (err) {
        this.fail(err as Error);
      }
      return false; // nothing more is read until the caller asks for the body
    }
    if (this.headFilled === this.head.length) {
      this.fail(new Unhandled('a response head over 64 KB'));
      return false;
    }
    this.arm();
    return true;
  }

  private response(text: string, early: Buffer): RawResponse {
    const [statusLine, ...fields] = text.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
    if (!status) throw new Unhandled('not an HTTP/1.1 response');
    const found = new Map<string, string>();
    for (const field of fields) {
      const colon = field.indexOf(':');
      if (colon > 0) found.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
    }
    const length = found.get('content-length');
    const plain = !found.has('transfer-encoding') && length !== undefined && /^\d+$/.test(length);
    if (Number(status) >= 200 && Number(status) < 300 && !plain) throw new Unhandled('a body without a plain Content-Length');
    return {
      status: Number(status),
      header: (name) => found.get(name.toLowerCase()),
      close: () => this.close(),
      body: (writer) => this.body(writer, Number(length), early),
    };
  }

  private async body(writer: BlobWriter, length: number, early: Buffer): Promise<void> {
    if (early.length > length) throw Object.assign(new Error('the server sent more than its Content-Length'), { code: 'ECONNRESET' });
    await writer.copyIn(early);
    await writer.flush();
    this.left = length - early.length;
    while (this.left > 0) {
      if (this.gone) throw this.gone;
      this.current = await writer.take();
      this.filled = 0;
      const ended = new Promise<void>((ok, ko) => (this.wake = (err) => (err ? ko(err) : ok())));
      if (this.gone) throw this.gone;
      this.arm();
      this.socket.resume();
      try {
        await ended;
      } finally {
        this.wake = undefined;
        // what was read before a failure is counted too: a resume continues after it
        if (this.filled > 0) await writer.commit(this.current, this.filled);
        this.current = undefined;
      }
    }
    this.close();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(Object.assign(new Error(`no data for ${this.stallMs} ms`), { code: 'ETIMEDOUT' })), this.stallMs);
  }

  private fail(err: Error): void {
    if (this.gone) return;
    this.gone = err;
    this.close();
    this.reject(err);
    this.wake?.(err);
  }

  private close(): void {
    this.gone ??= Object.assign(new Error('closed'), { code: 'ECONNRESET' });
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.abort);
    this.socket.destroy();
  }
}
