/** '512M', '2G', '2GiB', 1024 → bytes. */
const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

export function parseMemory(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  if (!match) return NaN;
  return Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
}
