/**
 * The terminal view: a listr2 task per stage with a spinner while it runs and the last lines of its output
 * under it; skipped and restored stages dimmed. Drawn on stderr: stdout stays for what a command is asked for.
 */
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { JobEvent, ProgressEvent, Reason, Reporter, StageEvent, SummaryEvent } from './events.js';
import { reasonsText } from './reason-text.js';
import { duration, paint, summaryLine, terminalHeight, terminalWidth, type Paint } from './format.js';
import { LogFollower } from './log-follow.js';
import { TransferTracker } from './transfer.js';

/** lines of a running stage's output shown under its spinner */
const LIVE_LINES = 3;

interface Slot {
  started: (reason: string) => void;
  finished: (e: StageEvent) => void;
  task?: ListrTaskWrapper<unknown, any, any>;
  transfer?: TransferTracker;
  startedPromise: Promise<string>;
  finishedPromise: Promise<StageEvent>;
}

export class ListrReporter implements Reporter {
  private readonly slots = new Map<string, Slot>();
  private readonly p: Paint;
  private running: Promise<unknown> | undefined;
  private dryRun = false;
  private notRun = 0;
  private readonly failures: StageEvent[] = [];
  private readonly notes: string[] = [];

  constructor(color: boolean) {
    this.p = paint(color);
  }

  plan(stages: string[], dryRun: boolean): void {
    this.dryRun = dryRun;
    for (const name of stages) this.slots.set(name, newSlot());
    saneTerminalSize();
    const list = new Listr(
      stages.map((name) => ({ title: `${name} ${this.p.dim('· waiting')}`, task: (_: unknown, task: ListrTaskWrapper<unknown, any, any>) => this.follow(name, task) })),
      {
        concurrent: true,
        exitOnError: false,
        // Ctrl-C is pipe's to handle (stop the stages, record nothing partial, exit 130); listr2's own
        // handler would exit 127 on the spot
        registerSignalListeners: false,
        collectErrors: false,
        rendererOptions: {
          collapseSkips: true, suffixSkips: false, collapseErrors: true, showErrorMessage: true,
          // listr2 draws on its "stdout": make that stderr (and hold back what is written to stdout meanwhile)
          logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stdout) }),
        },
      },
    );
    this.running = list.run().catch(() => undefined);
  }

  start(stage: string, reasons: Reason[]): void {
    this.slots.get(stage)?.started(reasonsText(reasons));
  }

  finish(e: StageEvent): void {
    if (e.status === 'not-run') this.notRun++;
    else if (e.status === 'failed') this.failures.push(e);
    this.slots.get(e.stage)?.finished(e);
  }

  progress(e: ProgressEvent): void {
    const slot = this.slots.get(e.stage);
    if (!slot?.task) return;
    slot.transfer ??= new TransferTracker();
    slot.transfer.update(e);
    slot.task.output = `${slot.transfer.describe()}  ${this.p.dim(e.file)}`;
  }

  /** The stage's line says where its job is: pending in queue, running on node N, its id. */
  job(e: JobEvent): void {
    const slot = this.slots.get(e.stage);
    if (slot?.task) slot.task.title = `${e.stage} ${this.p.dim(`· ${e.text}`)}`;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** The last lines the stage printed, under its spinner, refreshed as they come. */
  output(stage: string, file: string): () => void {
    const slot = this.slots.get(stage);
    if (!slot) return () => undefined;
    let recent: string[] = [];
    const follower = new LogFollower(file, (lines) => {
      const fresh = lines.map((l) => l.trimEnd()).filter((l) => l !== '');
      if (!fresh.length || !slot.task) return;
      recent = [...recent, ...fresh].slice(-LIVE_LINES);
      // one output entry of several lines: listr2 shows the last entry whole
      slot.task.output = recent.join('\n');
    }, { tailBytes: 4096 });
    return () => follower.stop();
  }

  async summary(s: SummaryEvent): Promise<void> {
    await this.running;
    const out = process.stderr;
    for (const note of this.notes) out.write(this.p.dim(note) + '\n');
    for (const f of this.failures) {
      out.write(this.p.red(`✗ ${f.stage}: ${reasonsText(f.reasons)}`) + '\n');
      if (f.tail?.length) out.write(f.tail.map((l) => this.p.dim(`  │ ${l}`)).join('\n') + '\n');
      if (f.log) out.write(this.p.dim(`  full log: ${f.log}`) + '\n');
    }
    if (s.interrupted) out.write(this.p.yellow('interrupted: stopped every stage process; nothing partial was recorded\n'));
    out.write(summaryLine(s, this.notRun, this.dryRun) + '\n');
  }

  private async follow(name: string, task: ListrTaskWrapper<unknown, any, any>): Promise<void> {
    const slot = this.slots.get(name)!;
    slot.task = task;
    const first = await Promise.race([slot.startedPromise.then((reason) => ({ reason })), slot.finishedPromise]);
    if ('reason' in first && !('type' in first)) task.title = `${name} ${this.p.dim(`· ${first.reason}`)}`;
    const e = await slot.finishedPromise;
    const label = `${name} ${this.p.dim(duration(e.ms))}`;
    const reason = reasonsText(e.reasons);
    if (e.status === 'skipped') return task.skip(this.p.dim(`${name} · ${reason}`));
    if (e.status === 'restored') return task.skip(this.p.dim(`${name} ↺ ${this.dryRun ? 'would restore' : 'restored'} from cache`));
    if (e.status === 'failed' || e.status === 'not-run') throw new Error(`${name}: ${reason}`);
    // a dry run ran nothing: not the ✓ of a stage that ran
    if (this.dryRun) return task.skip(`○ ${name} ${this.p.dim(`would run: ${reason}`)}`);
    task.title = label;
  }
}

/**
 * listr2 wraps at process.stdout.columns and log-update at the drawing stream's columns and rows, which are 0
 * on some terminals (`script -qc`) and undefined when stdout is not one: wrapping at 0 prints one character
 * per line, and 0 rows draws nothing. Give them the size of the terminal drawn on, else 80 by 24.
 */
function saneTerminalSize(): void {
  const columns = terminalWidth(process.stderr) ?? terminalWidth(process.stdout) ?? 80;
  const rows = terminalHeight(process.stderr) ?? 24;
  for (const stream of [process.stdout, process.stderr]) {
    stream.columns = columns;
    stream.rows = rows;
  }
}

function newSlot(): Slot {
  let started!: (reason: string) => void;
  let finished!: (e: StageEvent) => void;
  const startedPromise = new Promise<string>((r) => (started = r));
  const finishedPromise = new Promise<StageEvent>((r) => (finished = r));
  return { started, finished, startedPromise, finishedPromise };
}
