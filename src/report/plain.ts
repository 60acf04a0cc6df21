/**
 * One line per stage, for logs, CI and pipes; the failing stage's log tail on stderr. With -v, each stage's
 * command before it runs and its output as it comes, prefixed with `[stage]`. A dry run's plan is what the
 * user asked for: it goes to stdout, with marks that say what would happen (○ would run, ↺ would restore).
 */
import type { JobEvent, ProgressEvent, Reason, Reporter, StageEvent, SummaryEvent } from './events.js';
import { reasonsText } from './reason-text.js';
import { bytes, duration, paint, summaryLine, type Paint } from './format.js';
import { LogFollower } from './log-follow.js';

export interface PlainOptions {
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  /** colours for the plan on stdout (a terminal there, not only on stderr) */
  planColor?: boolean;
  /** the command a stage runs, as the user would type it (for -v) */
  commandOf?: (stage: string) => string | undefined;
}

const MARK: Record<StageEvent['status'], string> = { ran: '✓', skipped: '·', restored: '↺', failed: '✗', 'not-run': '-' };
const PLAN_MARK: Record<StageEvent['status'], string> = { ran: '○', skipped: '·', restored: '↺', failed: '✗', 'not-run': '-' };

export class PlainReporter implements Reporter {
  private readonly p: Paint;
  private readonly planPaint: Paint;
  private dryRun = false;
  private notRun = 0;
  private readonly lastProgress = new Map<string, number>();
  readonly output?: (stage: string, file: string) => () => void;

  constructor(private readonly opts: PlainOptions, private readonly out: NodeJS.WritableStream = process.stderr, private readonly planOut: NodeJS.WritableStream = process.stdout) {
    this.p = paint(opts.color);
    this.planPaint = paint(opts.planColor ?? false);
    if (opts.verbose && !opts.quiet) this.output = (stage, file) => this.stream(stage, file);
  }

  plan(stages: string[], dryRun: boolean): void {
    this.dryRun = dryRun;
    if (this.opts.verbose) this.out.write(this.p.dim(`plan: ${stages.length} stage(s)\n`));
  }

  start(stage: string, reasons: Reason[]): void {
    if (this.opts.quiet) return;
    this.out.write(`${this.p.bold('▶')} ${stage}${this.opts.verbose ? this.p.dim(`  (${reasonsText(reasons)})`) : ''}\n`);
    const command = this.opts.verbose ? this.opts.commandOf?.(stage) : undefined;
    if (command !== undefined) this.out.write(this.p.dim(`[${stage}] $ ${command}`) + '\n');
  }

  finish(e: StageEvent): void {
    if (e.status === 'not-run') this.notRun++;
    if (e.status === 'failed' || e.status === 'not-run') return this.failure(e);
    if (this.opts.quiet) return;
    if (this.dryRun) return this.planLine(e);
    const line = `${MARK[e.status]} ${e.stage}  ${duration(e.ms)}  ${reasonsText(e.reasons)}`;
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

  /** A job's start and its placement, not every change of its pending reason. */
  job(e: JobEvent): void {
    if (this.opts.quiet || (e.state !== 'RUNNING' && e.state !== 'SUBMITTED' && !this.opts.verbose)) return;
    this.out.write(this.p.dim(`  ${e.stage}: ${e.text}`) + '\n');
  }

  note(text: string): void {
    this.out.write(text + '\n');
  }

  async summary(s: SummaryEvent): Promise<void> {
    if (s.interrupted) this.out.write(this.p.yellow('interrupted: stopped every stage process; nothing partial was recorded\n'));
    // -q promises failures and the summary: the one line is printed whatever happened
    (this.dryRun ? this.planOut : this.out).write(summaryLine(s, this.notRun, this.dryRun) + '\n');
  }

  /** What a dry run would do: never ✓, which says a stage ran. */
  private planLine(e: StageEvent): void {
    const text = reasonsText(e.reasons);
    const what = e.status === 'restored' ? `would restore from cache: ${text}` : e.status === 'ran' ? `would run: ${text}` : text;
    const line = `${PLAN_MARK[e.status]} ${e.stage}  ${what}`;
    this.planOut.write((e.status === 'skipped' ? this.planPaint.dim(line) : this.planPaint.yellow(line)) + '\n');
  }

  /** -v: the stage's output as it comes, each line prefixed with the stage's name. */
  private stream(stage: string, file: string): () => void {
    const prefix = this.p.dim(`[${stage}] `);
    const follower = new LogFollower(file, (lines) => this.out.write(lines.map((l) => prefix + l).join('\n') + '\n'));
    return () => follower.stop();
  }

  private failure(e: StageEvent): void {
    if (e.status === 'not-run') {
      if (!this.opts.quiet) this.out.write(this.p.dim(`${MARK['not-run']} ${e.stage}  ${reasonsText(e.reasons)}`) + '\n');
      return;
    }
    this.out.write(this.p.red(`✗ ${e.stage} failed: ${reasonsText(e.reasons)}`) + '\n');
    if (e.tail?.length) this.out.write(e.tail.map((l) => this.p.dim(`  │ ${l}`)).join('\n') + '\n');
    if (e.log) this.out.write(this.p.dim(`  full log: ${e.log}`) + '\n');
  }
}
