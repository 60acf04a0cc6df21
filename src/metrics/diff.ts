/** Metrics against metrics: the change per value, as `pipe metrics diff` and the sweep table show it. */
import type { MetricsByFile } from './read.js';

export interface MetricChange {
  file: string;
  key: string;
  old?: number;
  new?: number;
  /** new - old, when both exist */
  change?: number;
}

export function diffMetrics(before: MetricsByFile, after: MetricsByFile): MetricChange[] {
  const changes: MetricChange[] = [];
  const files = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  for (const file of files) {
    const a = before[file] ?? {};
    const b = after[file] ?? {};
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])]) {
      const old = a[key];
      const now = b[key];
      changes.push({
        file, key,
        ...(old === undefined ? {} : { old }),
        ...(now === undefined ? {} : { new: now }),
        ...(old !== undefined && now !== undefined ? { change: roundOff(now - old) } : {}),
      });
    }
  }
  return changes;
}

export function isChanged(c: MetricChange): boolean {
  return c.change === undefined || c.change !== 0;
}

export function sameMetrics(a: MetricsByFile, b: MetricsByFile): boolean {
  return !diffMetrics(a, b).some(isChanged);
}

/** 0.1 + 0.2 - 0.3 is 5.5e-17, not a change anyone made. */
function roundOff(n: number): number {
  return Number(n.toPrecision(12));
}
