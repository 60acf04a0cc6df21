/** What a run reports, whatever shows it (listr2 on a terminal, plain lines, NDJSON). */

export type StageStatus = 'ran' | 'skipped' | 'restored' | 'failed';

export interface StageEvent {
  type: 'stage';
  stage: string;
  status: StageStatus;
  ms: number;
  reason: string;
  /** the planner's verdict before acting: fresh, stale, never-run or missing-outputs */
  state?: 'fresh' | 'stale' | 'never-run' | 'missing-outputs';
  /** a restore from the team cache rather than this machine's */
  from?: 'remote';
  /** the stage log, for failures */
  log?: string;
  /** the last lines of the log, for failures */
  tail?: string[];
}

export interface SummaryEvent {
  type: 'summary';
  ran: number;
  skipped: number;
  restored: number;
  /** every stage whose status is failed, including those not run because an upstream stage failed */
  failed: number;
  /** of `failed`, the stages that did not run (blocked by a failure, or stopped) */
  notRun: number;
  ms: number;
  interrupted?: boolean;
  /** what the team cache did (src/remote/open.ts remoteSummary), when one was used */
  remote?: Record<string, unknown>;
}

export interface ProgressEvent {
  type: 'progress';
  stage: string;
  file: string;
  bytes: number;
  total: number;
  done: boolean;
}

export interface Reporter {
  plan(stages: string[], dryRun: boolean): void;
  start(stage: string, reason: string): void;
  finish(event: StageEvent): void;
  progress(event: ProgressEvent): void;
  /** a line about the run itself (waiting for a lock, warnings) */
  note(text: string): void;
  /**
   * Only for a reporter that shows live output: the stage's process writes to `file` from now on; the
   * returned function is called once it has exited (before the runner moves the file).
   */
  output?(stage: string, file: string): () => void;
  summary(event: SummaryEvent): Promise<void>;
}
