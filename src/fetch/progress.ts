import type { FetchContext } from './context.js';

/** Byte progress for one file, at most every 100 ms (a 3 GB file would otherwise emit ~50 000 events). */
export function progressReporter(ctx: FetchContext, file: string): (bytes: number, total: number) => void {
  let last = 0;
  return (bytes, total) => {
    const now = Date.now();
    if (now - last < 100 && bytes < total) return;
    last = now;
    ctx.onProgress?.({ file, bytes, total, done: false });
  };
}
