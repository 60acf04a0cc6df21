/**
 * Follows the log file of a running stage by polling it, and hands on the lines it gains. Only a reporter
 * that shows live output (a terminal, or -v) asks for this; a quiet run never opens a log.
 *
 * The file is opened once (lazily: the runner may not have created it yet) and read through that descriptor,
 * so a log the runner renames when the stage ends is still read to its end by `stop()`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface FollowOptions {
  /** how often to look for new output */
  intervalMs?: number;
  /** only the end matters (a view of the last lines): skip what is further back than this many bytes */
  tailBytes?: number;
}

const DEFAULT_INTERVAL_MS = 250;
const MAX_READ = 1 << 20;

export class LogFollower {
  private fd: number | undefined;
  private offset = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly file: string, private readonly onLines: (lines: string[]) => void, private readonly opts: FollowOptions = {}) {
    this.timer = setInterval(() => this.poll(), opts.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Reads what is left, including a last line without a newline, and closes the file. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.poll();
    if (this.partial) this.onLines([this.partial]);
    this.partial = '';
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private poll(): void {
    try {
      this.fd ??= openSync(this.file, 'r');
    } catch {
      return; // not created yet
    }
    const lines = this.readNew();
    if (lines.length) this.onLines(lines);
  }

  private readNew(): string[] {
    const lines: string[] = [];
    for (;;) {
      const size = fstatSync(this.fd!).size;
      if (size < this.offset) this.offset = 0; // truncated: the file was started over
      if (this.opts.tailBytes !== undefined && size - this.offset > this.opts.tailBytes) {
        this.offset = size - this.opts.tailBytes;
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
      }
      if (size === this.offset) return lines;
      const buffer = Buffer.alloc(Math.min(size - this.offset, MAX_READ));
      const read = readSync(this.fd!, buffer, 0, buffer.length, this.offset);
      if (read === 0) return lines;
      this.offset += read;
      const parts = (this.partial + this.decoder.write(buffer.subarray(0, read))).split(/\r\n|\n|\r/);
      this.partial = parts.pop()!;
      lines.push(...parts);
      if (read < MAX_READ) return lines;
    }
  }
}
