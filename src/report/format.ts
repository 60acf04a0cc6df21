/** Small text helpers shared by the reporters. */

export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let value = n;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export interface Paint {
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
}

const ansi = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

export function paint(color: boolean): Paint {
  if (!color) {
    const plain = (text: string) => text;
    return { dim: plain, red: plain, green: plain, yellow: plain, bold: plain };
  }
  return { dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39), bold: ansi(1, 22) };
}

export function summaryLine(s: { ran: number; skipped: number; restored: number; failed: number; ms: number }, notRun: number, dryRun: boolean): string {
  const parts = [`${s.ran} ${dryRun ? 'would run' : 'ran'}`, `${s.skipped} up to date`];
  if (s.restored) parts.push(`${s.restored} restored from cache`);
  const failed = s.failed - notRun;
  if (failed) parts.push(`${failed} failed`);
  if (notRun) parts.push(`${notRun} not run`);
  return `${parts.join(', ')} in ${duration(s.ms)}`;
}

/** A usable terminal width, or undefined for none, 0 (some ptys report that) or an absurd value. */
export function terminalWidth(stream: { columns?: number }): number | undefined {
  const columns = stream.columns;
  return typeof columns === 'number' && Number.isInteger(columns) && columns >= 20 && columns <= 1000 ? columns : undefined;
}

export function terminalHeight(stream: { rows?: number }): number | undefined {
  const rows = stream.rows;
  return typeof rows === 'number' && Number.isInteger(rows) && rows >= 5 && rows <= 1000 ? rows : undefined;
}
