/** --json: one JSON object per line on stdout (SPEC.md), human notes on stderr. */
import type { JobEvent, ProgressEvent, Reason, Reporter, StageEvent, SummaryEvent } from './events.js';
import { reasonsText } from './reason-text.js';

export class NdjsonReporter implements Reporter {
  private readonly lastProgress = new Map<string, number>();

  constructor(private readonly out = process.stdout) {}

  private dryRun = false;

  plan(_stages: string[], dryRun: boolean): void {
    this.dryRun = dryRun;
  }

  start(stage: string, reasons: Reason[]): void {
    this.write({ type: 'start', stage, reason: reasonsText(reasons), reasons });
  }

  /** SPEC's fields first (`reason` as text; in a dry run a stage that would run says so), then the reasons as data. */
  finish(e: StageEvent): void {
    const { type, stage, status, ms, reasons, ...rest } = e;
    const text = reasonsText(reasons);
    const reason = this.dryRun && status === 'ran' ? `would run: ${text}` : text;
    // SPEC's status enum has no not-run: such a stage is `failed` there, and `notRun` tells it apart
    const spec = status === 'not-run' ? { status: 'failed', notRun: true } : { status };
    this.write({ type, stage, ...spec, ms, reason, reasons, ...rest });
  }

  progress(e: ProgressEvent): void {
    const key = `${e.stage}\0${e.file}`;
    const now = Date.now();
    if (!e.done && now - (this.lastProgress.get(key) ?? 0) < 500) return;
    this.lastProgress.set(key, now);
    this.write(e);
  }

  job(e: JobEvent): void {
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
