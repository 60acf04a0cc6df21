/** What a run reports, whatever shows it (listr2 on a terminal, plain lines, NDJSON). */

/** The planner's verdict on a stage before anything acts on it. */
export type StageState = 'fresh' | 'stale' | 'never-run' | 'missing-outputs';

/** What became of a stage in a run (or, in a dry run, what would). */
export type StageStatus = 'ran' | 'skipped' | 'restored' | 'failed' | 'not-run';

/**
 * Why a stage is fresh, restored, run, failed or not run: data, rendered to text only by reporters
 * (src/report/reason-text.ts). `subject` names what changed (a dep's path, a param, a stage); `before` and
 * `after` are its values as shown to a user; `detail` adds what the kind alone does not say.
 */
export interface Reason {
  kind: ReasonKind;
  subject?: string;
  before?: string;
  after?: string;
  detail?: string;
}

export type ReasonKind =
  | 'up-to-date' | 'forced' | 'always-changed' | 'never-run' | 'key-format' | 'key-changed'
  | 'command' | 'declared-outputs' | 'fetch-source' | 'cwd' | 'network' | 'param' | 'env' | 'resources'
  | 'dep-new' | 'dep-removed' | 'dep-missing' | 'dep-changed' | 'dep-exec'
  | 'upstream-new' | 'upstream-removed' | 'upstream-changed' | 'upstream-will-run' | 'more'
  | 'output-missing' | 'output-modified' | 'in-cache' | 'cache-unusable'
  | 'fetch-verified' | 'fetch-not-cached'
  | 'upstream-failed' | 'upstream-outside' | 'interrupted' | 'stopped' | 'not-in-cache' | 'upstream-not-restored'
  | 'error';

export interface StageEvent {
  type: 'stage';
  stage: string;
  status: StageStatus;
  ms: number;
  reasons: Reason[];
  /** the planner's verdict before acting */
  state?: StageState;
  /** a restore from the team cache rather than this machine's */
  from?: 'remote';
  /** the stage log, for failures */
  log?: string;
  /** the last lines of the log, for failures */
  tail?: string[];
  /** the scheduler's job id (Slurm) */
  job?: string;
}

export interface SummaryEvent {
  type: 'summary';
  ran: number;
  skipped: number;
  restored: number;
  /** every stage that failed or was not run because of a failure or an interruption */
  failed: number;
  /** of `failed`, the stages that did not run (status not-run) */
  notRun: number;
  ms: number;
  interrupted?: boolean;
  /** what the team cache did (src/remote/open.ts remoteSummary), when one was used */
  remote?: Record<string, unknown>;
  /** the run's id in the run history (.pipe/runs/) */
  run?: string;
  /** the values of the metrics files the run left: file -> flattened key -> number */
  metrics?: Record<string, Record<string, number>>;
}

export interface ProgressEvent {
  type: 'progress';
  stage: string;
  file: string;
  bytes: number;
  total: number;
  done: boolean;
}

/** A scheduler job's state while its stage waits or runs (Slurm: submitted, pending, running on a node). */
export interface JobEvent {
  type: 'job';
  stage: string;
  job: string;
  /** Slurm's word: SUBMITTED, PENDING, RUNNING, ... */
  state: string;
  node?: string;
  /** e.g. "Slurm job 12 running on node-3" */
  text: string;
}

export interface Reporter {
  plan(stages: string[], dryRun: boolean): void;
  start(stage: string, reasons: Reason[]): void;
  finish(event: StageEvent): void;
  progress(event: ProgressEvent): void;
  /** a stage's scheduler job changed state */
  job?(event: JobEvent): void;
  /** a line about the run itself (waiting for a lock, warnings) */
  note(text: string): void;
  /**
   * Only for a reporter that shows live output: the stage's process writes to `file` from now on; the
   * returned function is called once it has exited (before the runner moves the file).
   */
  output?(stage: string, file: string): () => void;
  summary(event: SummaryEvent): Promise<void>;
}
