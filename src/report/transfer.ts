/** Byte progress of a stage's downloads: totals over its files, rate, and time left. */
import type { ProgressEvent } from './events.js';
import { bytes, duration } from './format.js';

interface FileProgress {
  bytes: number;
  total: number;
  done: boolean;
}

export class TransferTracker {
  private readonly files = new Map<string, FileProgress>();
  private readonly started = Date.now();

  update(e: ProgressEvent): void {
    this.files.set(e.file, { bytes: e.bytes, total: e.total, done: e.done });
  }

  /** e.g. "3/7 files · 1.2 GB / 3.1 GB · 48.0 MB/s · 40s left" */
  describe(): string {
    let done = 0;
    let total = 0;
    let finished = 0;
    for (const f of this.files.values()) {
      done += f.bytes;
      total += f.total;
      if (f.done) finished++;
    }
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = done / seconds;
    const left = rate > 0 && total > done ? ` · ${duration(Math.round(((total - done) / rate) * 1000))} left` : '';
    return `${finished}/${this.files.size} files · ${bytes(done)}${total ? ` / ${bytes(total)}` : ''} · ${bytes(rate)}/s${left}`;
  }
}
