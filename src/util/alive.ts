/** Whether a process is still running. */
import { readFileSync } from 'node:fs';

/** A zombie (exited, not yet reaped: its parent is gone and init does not reap) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: the signal check is all there is
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined where there is no /proc. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ, the unit of /proc start times: 100 on every architecture Node.js runs on. */
const TICKS_PER_SECOND = 100;

/** When the process started, in ms since the epoch (from /proc: boot time plus its start time); undefined without /proc. */
export function startedAtMs(pid: number): number | undefined {
  const ticks = Number(startTime(pid));
  const boot = bootTimeSeconds();
  if (!Number.isFinite(ticks) || boot === undefined) return undefined;
  return (boot + ticks / TICKS_PER_SECOND) * 1000;
}

function bootTimeSeconds(): number | undefined {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
