/** Plain text tables for the commands that print them (runs, metrics, sweeps): columns padded, numbers right-aligned. */

export type Cell = string | number | undefined;

export function renderTable(headers: string[], rows: Cell[][], opts: { indent?: string } = {}): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === undefined || typeof r[i] === 'number' || /^[-+]?[\d.]+(e[-+]?\d+)?%?( s| ms)?$/.test(String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => (opts.indent ?? '') + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

function cellText(cell: Cell): string {
  if (cell === undefined) return '-';
  return String(cell);
}
