/**
 * Slurm's job states as `squeue` reports them, and how a job's end reads to a user. Without accounting a
 * finished job stays in squeue (`-t all`) only for MinJobAge seconds; after that its end is read from the
 * exit-status file the job script leaves (src/exec/slurm/job-script.ts).
 */

export interface JobInfo {
  id: string;
  state: string;
  /** where it runs (empty while pending) */
  node: string;
  /** why it is pending, or why it ended (squeue's %r) */
  reason: string;
  /** the raw wait status, as squeue's exit_code field gives it (exit code << 8 | signal) */
  waitStatus?: number;
}

export interface JobEnd {
  state: string;
  exitCode?: number;
  signal?: number;
}

/** States in which a job is still queued, running or coming back (requeued): it may yet write its outputs. */
const ACTIVE = new Set([
  'PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD',
  'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD',
]);

/** Ends a new submission may get past: the job did not fail, its node or its slot did. */
export const RETRYABLE = new Set(['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL']);

/** Fields of `squeue -h -t all -O ...`, '|'-separated (see SQUEUE_FORMAT). */
export const SQUEUE_FORMAT = 'JobID:|,State:|,NodeList:|,Reason:|,exit_code:|';

export function isActive(state: string): boolean {
  return ACTIVE.has(state);
}

export function parseSqueue(text: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of text.split('\n')) {
    const [id, state, node, reason, status] = line.split('|').map((f) => f.trim());
    if (!id || !state || !/^\d+/.test(id)) continue;
    const waitStatus = status && /^\d+$/.test(status) ? Number(status) : undefined;
    jobs.push({ id, state: state.replace(/\+$/, ''), node: node === '(null)' ? '' : node ?? '', reason: reason ?? '', waitStatus });
  }
  return jobs;
}

export function endOf(info: JobInfo): JobEnd {
  const w = info.waitStatus;
  if (w === undefined) return { state: info.state };
  const signal = w & 0x7f;
  return signal ? { state: info.state, signal, exitCode: 128 + signal } : { state: info.state, exitCode: w >> 8 };
}

/** The job's end when its command ran to an exit status: COMPLETED (0) or FAILED (non-zero). */
export function succeeded(end: JobEnd): boolean {
  return end.state === 'COMPLETED' && (end.exitCode ?? 0) === 0;
}

/** A plain exit status of the command, which the builder words itself (exit code N, killed by SIG...). */
export function isCommandExit(end: JobEnd): boolean {
  return end.state === 'COMPLETED' || end.state === 'FAILED';
}

const MEANING: Record<string, string> = {
  OUT_OF_MEMORY: 'it used more memory than it asked for (resources.mem → --mem)',
  TIMEOUT: 'it ran past its time limit (slurm.time → --time)',
  CANCELLED: 'cancelled from outside pipe (scancel, or an administrator)',
  NODE_FAIL: 'its node failed',
  PREEMPTED: 'a higher-priority job took its place',
  BOOT_FAIL: 'its node did not boot',
  DEADLINE: 'it missed its deadline',
  VANISHED: 'it left the queue without an exit status (cancelled or lost; without accounting Slurm keeps no record)',
};

/** e.g. "Slurm job 12 TIMEOUT: it ran past its time limit (slurm.time → --time)". */
export function endWords(id: string, end: JobEnd): string {
  const meaning = MEANING[end.state];
  return `Slurm job ${id} ${end.state}${meaning ? `: ${meaning}` : ''}`;
}

/** "pending (Resources)", "running on node-3": a job's state while it is not done. */
export function activeWords(info: JobInfo): string {
  if (info.state === 'RUNNING') return `running on ${info.node || 'a node'}`;
  if (info.state === 'PENDING') return `pending in queue${info.reason && info.reason !== 'None' ? ` (${info.reason})` : ''}`;
  return info.state.toLowerCase().replace(/_/g, ' ');
}
