/**
 * A run as a Chrome trace (the Trace Event Format that Perfetto and chrome://tracing open): one thread per
 * worker slot, one complete ("X") event per stage that ran a process or a fetch, and the restores from the
 * cache as instant events on a thread of their own.
 */
import type { RunRecord } from '../state/run-history.js';

interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, string>;
}

const PID = 1;
const RESTORES_TID = 0;

export function chromeTrace(run: RunRecord, projectRoot: string): ChromeTrace {
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `pipe run ${run.id}` } },
  ];
  const lanes = [...new Set(run.stages.flatMap((s) => (s.lane === undefined ? [] : [s.lane])))].sort((a, b) => a - b);
  for (const lane of lanes) {
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid: lane + 1, args: { name: `worker slot ${lane + 1}` } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: lane + 1, args: { sort_index: lane + 1 } });
  }
  if (run.stages.some((s) => s.lane === undefined && s.status === 'restored')) {
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid: RESTORES_TID, args: { name: 'restored from the cache' } });
  }
  const ends = laneEnds(run);
  for (const stage of run.stages) {
    const args = { status: stage.status, ...(stage.reason ? { reason: stage.reason } : {}) };
    if (stage.lane !== undefined) {
      const end = ends.get(stage.name)!;
      events.push({ name: stage.name, cat: stage.status, ph: 'X', pid: PID, tid: stage.lane + 1, ts: stage.start * 1000, dur: Math.max(0, (end - stage.start) * 1000), args });
    } else if (stage.status === 'restored') {
      events.push({ name: stage.name, cat: 'restored', ph: 'i', s: 't', pid: PID, tid: RESTORES_TID, ts: stage.end * 1000, args });
    }
  }
  return { traceEvents: events, displayTimeUnit: 'ms', otherData: { run: run.id, command: run.command, started: run.started, project: projectRoot } };
}

/**
 * Where each stage's event ends: when it finished, or when the next stage took its slot (its process had
 * exited; pipe was storing its outputs), so the events of one slot never overlap.
 */
function laneEnds(run: RunRecord): Map<string, number> {
  const ends = new Map<string, number>();
  const byLane = new Map<number, RunRecord['stages']>();
  for (const s of run.stages) if (s.lane !== undefined) (byLane.get(s.lane) ?? byLane.set(s.lane, []).get(s.lane)!).push(s);
  for (const stages of byLane.values()) {
    stages.sort((a, b) => a.start - b.start);
    stages.forEach((s, i) => ends.set(s.name, Math.min(s.end, stages[i + 1]?.start ?? Infinity)));
  }
  return ends;
}

/**
 * The chain of stages that decided how long the run took: from the stage that finished last, back through
 * the upstream stage each one waited for longest (the one that finished last before it started).
 */
export function criticalPath(run: RunRecord): RunRecord['stages'] {
  const byName = new Map(run.stages.map((s) => [s.name, s]));
  let current = [...run.stages].sort((a, b) => b.end - a.end)[0];
  const path: RunRecord['stages'] = [];
  const seen = new Set<string>();
  while (current && !seen.has(current.name)) {
    seen.add(current.name);
    path.unshift(current);
    const ups = current.upstream.flatMap((u) => byName.get(u) ?? []);
    current = ups.sort((a, b) => b.end - a.end)[0];
  }
  return path;
}
