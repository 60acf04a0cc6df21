/**
 * Times every stage of a run as the reporter sees it (start, finish), for the run history and the Chrome
 * trace: a reporter that passes everything on to the one that shows the run.
 */
import type { Reporter, StageEvent, StageStatus } from './events.js';
import { reasonText } from './reason-text.js';

export interface StageTiming {
  name: string;
  status: StageStatus;
  /** ms since the run started */
  start: number;
  end: number;
  /** a process (or a fetch) ran for it: it held a worker slot */
  worked: boolean;
  reason?: string;
}

export class TimingReporter implements Reporter {
  private readonly began = Date.now();
  private readonly starts = new Map<string, number>();
  readonly timings: StageTiming[] = [];
  readonly output?: Reporter['output'];
  readonly job?: Reporter['job'];

  constructor(private readonly inner: Reporter) {
    if (inner.output) this.output = (stage, file) => inner.output!(stage, file);
    if (inner.job) this.job = (event) => inner.job!(event);
  }

  get startedAt(): number {
    return this.began;
  }

  plan(stages: string[], dryRun: boolean): void {
    this.inner.plan(stages, dryRun);
  }

  start(stage: string, reasons: StageEvent['reasons']): void {
    this.starts.set(stage, Date.now() - this.began);
    this.inner.start(stage, reasons);
  }

  finish(event: StageEvent): void {
    const end = Date.now() - this.began;
    const started = this.starts.get(event.stage);
    const reason = event.reasons.length ? event.reasons.map(reasonText).join('; ') : undefined;
    this.timings.push({
      name: event.stage,
      status: event.status,
      start: started ?? Math.max(0, end - event.ms),
      end,
      worked: started !== undefined,
      ...(reason ? { reason } : {}),
    });
    this.inner.finish(event);
  }

  progress(event: Parameters<Reporter['progress']>[0]): void {
    this.inner.progress(event);
  }

  note(text: string): void {
    this.inner.note(text);
  }

  summary(event: Parameters<Reporter['summary']>[0]): Promise<void> {
    return this.inner.summary(event);
  }
}

/**
 * Worker slots: each stage that worked gets the lowest slot free when it started. A stage gives its slot back
 * when its process exits, a little before pipe has stored its outputs and reported it finished: so with all
 * `slots` taken, the next stage takes the slot that was freed first.
 */
export function assignLanes(timings: StageTiming[], slots: number): Map<string, number> {
  const lanes = new Map<string, number>();
  const busyUntil: number[] = [];
  for (const t of timings.filter((x) => x.worked).sort((a, b) => a.start - b.start || a.end - b.end)) {
    let lane = busyUntil.findIndex((until) => until <= t.start);
    if (lane < 0 && busyUntil.length < slots) lane = busyUntil.push(0) - 1;
    if (lane < 0) lane = busyUntil.indexOf(Math.min(...busyUntil));
    busyUntil[lane] = t.end;
    lanes.set(t.name, lane);
  }
  return lanes;
}
