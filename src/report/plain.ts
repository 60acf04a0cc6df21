/** One line per stage, for logs, CI and pipes; the failing stage's log tail on stderr. */
import type { ProgressEvent, Reporter, StageEvent, SummaryEvent } from './events.js';
import { bytes, duration, paint, summaryLine, type Paint } from './format.js';

export interface PlainOptions {
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

const MARK: Record<StageEvent['status'], string> = { ran: '✓', skipped: '·', restored: '↺', failed: '✗' };

export class PlainReporter implements Reporter {
  private readonly p: Paint;
  private dryRun = false;
  private notRun = 0;
  private readonly lastProgress = new Map<string, number>();

  constructor(private readonly opts: PlainOptions, private readonly out = process.stderr) {
    this.p = paint(opts.color);
  }

  plan(stages: string[], dryRun: boolean): void {
    this.dryRun = dryRun;
    if (this.opts.verbose) this.out.write(this.p.dim(`plan: ${stages.length} stage(s)\n`));
  }

  start(stage: string, reason: string): void {
    if (this.opts.quiet) return;
    this.out.write(`${this.p.bold('▶')} ${stage}${this.opts.verbose ? this.p.dim(`  (${reason})`) : ''}\n`);
  }

  finish(e: StageEvent): void {
    if (e.status === 'failed' && e.reason.startsWith('not run')) this.notRun++;
    if (e.status === 'failed') return this.failure(e);
    if (this.opts.quiet) return;
    const line = `${MARK[e.status]} ${e.stage}  ${duration(e.ms)}  ${e.reason}`;
    this.out.write((e.status === 'ran' ? this.p.green(line) : this.p.dim(line)) + '\n');
  }

  progress(e: ProgressEvent): void {
    if (this.opts.quiet) return;
    const key = `${e.stage}\0${e.file}`;
    const now = Date.now();
    if (!e.done && now - (this.lastProgress.get(key) ?? 0) < 5000) return;
    this.lastProgress.set(key, now);
    const of = e.total ? ` of ${bytes(e.total)}` : '';
    this.out.write(this.p.dim(`  ${e.stage}: ${e.file} ${bytes(e.bytes)}${of}${e.done ? ' done' : ''}\n`));
  }

  note(text: string): void {
    this.out.write(text + '\n');
  }

  async summary(s: SummaryEvent): Promise<void> {
    if (s.interrupted) this.out.write(this.p.yellow('interrupted: stopped every stage process; nothing partial was recorded\n'));
    if (!this.opts.quiet || s.failed) this.out.write(summaryLine(s, this.notRun, this.dryRun) + '\n');
  }

  private failure(e: StageEvent): void {
    if (e.reason.startsWith('not run')) {
      if (!this.opts.quiet) this.out.write(this.p.dim(`- ${e.stage}  ${e.reason}`) + '\n');
      return;
    }
    this.out.write(this.p.red(`✗ ${e.stage} failed: ${e.reason}`) + '\n');
    if (e.tail?.length) this.out.write(e.tail.map((l) => this.p.dim(`  │ ${l}`)).join('\n') + '\n');
    if (e.log) this.out.write(this.p.dim(`  full log: ${e.log}`) + '\n');
  }
}
