/**
 * The run history: one JSON file per run in `.pipe/runs/` (when, the command line, the parameters, what each
 * stage did and how long it took, the metrics, the outputs it left). Written atomically; bounded: past
 * MAX_RUNS runs or MAX_BYTES in all, the oldest are pruned.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import type { StageStatus } from '../report/events.js';
import type { OutputRecord } from './records.js';
import type { MetricsByFile } from '../metrics/read.js';

export const RUN_FORMAT = 1;
const MAX_RUNS = 200;
const MAX_BYTES = 64 * 1024 * 1024;
const RUN_FILE = /^(\d{8}-\d{6}-\d{3})\.json$/;

export interface StageRun {
  name: string;
  status: StageStatus;
  /** ms from the run's start to the stage's start and end */
  start: number;
  end: number;
  ms: number;
  /** the worker slot the stage ran in (only for stages that ran a process or a fetch) */
  lane?: number;
  /** upstream stages in this run: for the critical path */
  upstream: string[];
  /** what the stage left in the workspace (for `pipe checkout`) */
  outs?: OutputRecord[];
  reason?: string;
}

export interface SweepInfo {
  id: string;
  index: number;
  total: number;
  /** the swept keys and their values in this variant */
  values: Record<string, unknown>;
}

export interface RunRecord {
  format: number;
  id: string;
  /** ISO time the run started */
  started: string;
  ms: number;
  command: string;
  targets: string[];
  /** the --set values (and shorthands) the run was given */
  sets: Record<string, unknown>;
  /** every param of the selected stages with its value */
  params: Record<string, unknown>;
  jobs: number;
  exitCode: number;
  counts: Record<StageStatus, number>;
  stages: StageRun[];
  metrics: MetricsByFile;
  sweep?: SweepInfo;
}

export class RunHistory {
  readonly dir: string;

  constructor(stateDir: string, private readonly limits = { runs: limitFromEnv(), bytes: MAX_BYTES }) {
    this.dir = path.join(stateDir, 'runs');
  }

  /** `YYYYMMDD-HHMMSS-mmm` (UTC): ids sort as the runs started; one that is taken moves on by a millisecond. */
  newId(now = Date.now()): string {
    const latest = this.ids().pop();
    const id = idAt(now);
    return latest === undefined || id > latest ? id : idAt(timeOfId(latest) + 1);
  }

  save(run: RunRecord): void {
    writeFileAtomic(path.join(this.dir, `${run.id}.json`), JSON.stringify(run) + '\n');
    this.prune();
  }

  /** Run ids, oldest first. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => RUN_FILE.exec(n)?.[1] ?? []).sort();
  }

  load(id: string): RunRecord | undefined {
    try {
      const run = JSON.parse(readFileSync(path.join(this.dir, `${id}.json`), 'utf8')) as RunRecord;
      return run.format === RUN_FORMAT && run.id === id ? run : undefined;
    } catch {
      return undefined; // a damaged or foreign file is not a run
    }
  }

  /** Every readable run, oldest first. */
  all(): RunRecord[] {
    return this.ids().flatMap((id) => this.load(id) ?? []);
  }

  /**
   * A run named by the user: its id, a unique prefix of it, `latest`, or `~N` (N runs before the latest).
   */
  resolve(ref: string): RunRecord {
    const ids = this.ids();
    if (ids.length === 0) throw new UserError('no runs recorded yet (.pipe/runs/ is empty): `pipe run` records each run');
    let id: string | undefined;
    const back = /^~(\d+)$/.exec(ref);
    if (ref === 'latest' || ref === '@') id = ids[ids.length - 1];
    else if (back) id = ids[ids.length - 1 - Number(back[1])];
    else {
      const matches = ids.filter((i) => i.startsWith(ref) || i.endsWith(ref));
      if (matches.length > 1) throw new UserError(`run '${ref}' is ambiguous: ${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', ...' : ''}`);
      id = matches[0];
    }
    if (id === undefined) {
      throw new UserError(`no run '${ref}'${back ? ` (${ids.length} recorded)` : didYouMean(ref, ids)}; \`pipe runs\` lists them`);
    }
    const run = this.load(id);
    if (!run) throw new UserError(`run ${id}: .pipe/runs/${id}.json is not readable (damaged, or written by another version of pipe)`);
    return run;
  }

  /** Drops the oldest runs past the limits. */
  private prune(): void {
    const ids = this.ids();
    const sizes = ids.map((id) => sizeOf(path.join(this.dir, `${id}.json`)));
    let total = sizes.reduce((a, b) => a + b, 0);
    let count = ids.length;
    for (let i = 0; i < ids.length - 1 && (count > this.limits.runs || total > this.limits.bytes); i++) {
      rmSync(path.join(this.dir, `${ids[i]}.json`), { force: true });
      count--;
      total -= sizes[i]!;
    }
  }
}

function idAt(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
}

function timeOfId(id: string): number {
  const [, y, mo, d, h, mi, s, ms] = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-(\d{3})$/.exec(id)!;
  return Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** PIPE_RUNS_KEEP bounds the history to fewer (or more) runs than the default. */
function limitFromEnv(): number {
  const value = Number(process.env.PIPE_RUNS_KEEP);
  return Number.isInteger(value) && value >= 1 ? value : MAX_RUNS;
}
