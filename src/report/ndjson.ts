/** --json: one JSON object per line on stdout (SPEC.md), human notes on stderr. */
import type { ProgressEvent, Reporter, StageEvent, SummaryEvent } from './events.js';

export class NdjsonReporter implements Reporter {
  private readonly lastProgress = new Map<string, number>();

  constructor(private readonly out = process.stdout) {}

  plan(): void {}

  start(stage: string, reason: string): void {
    this.write({ type: 'start', stage, reason });
  }

  finish(e: StageEvent): void {
    this.write(e);
  }

  progress(e: ProgressEvent): void {
    const key = `${e.stage}\0${e.file}`;
    const now = Date.now();
    if (!e.done && now - (this.lastProgress.get(key) ?? 0) < 500) return;
    this.lastProgress.set(key, now);
    this.write(e);
  }

  note(text: string): void {
    process.stderr.write(text + '\n');
  }

  async summary(s: SummaryEvent): Promise<void> {
    this.write(s);
  }

  private write(event: object): void {
    this.out.write(JSON.stringify(event) + '\n');
  }
}
