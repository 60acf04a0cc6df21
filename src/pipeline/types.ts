/** The loaded, interpolated, validated pipeline: what every later step of the engine reads. */
import type { LinkMode } from '../state/link-mode.js';

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export interface Resources {
  cpu: number;
  gpu: number;
  /** bytes */
  mem: number;
}

/** A model snapshot from a Hugging Face hub endpoint, stored in the huggingface_hub cache layout. */
export interface HfFetch {
  hf: string;
  /** a commit sha, or a branch/tag that is resolved when fetched */
  revision: string;
  include?: string[];
  repoType?: 'model' | 'dataset';
}

/** One file from a URL, checked against its sha256, stored at `to` (relative to a cache root). */
export interface UrlFetch {
  url: string;
  sha256: string;
  /** path under the project (already resolved from e.g. ${torch_home}/hub/checkpoints/x.th) */
  to: string;
}

export type FetchSpec = HfFetch | UrlFetch;

export interface Stage {
  name: string;
  desc?: string;
  /** string: run by /bin/sh with interpolated values shell-quoted; list: argv, no shell */
  cmd?: string | string[];
  fetch?: FetchSpec;
  /** project-relative POSIX paths, folders or globs */
  deps: string[];
  /** project-relative POSIX paths of files or folders */
  outs: string[];
  /** of `outs`, the files holding metrics (JSON or YAML numbers) */
  metrics?: string[];
  /** of `outs`, the files holding plot series (CSV/TSV or JSON) */
  plots?: string[];
  /** true: the previous outputs stay in place while the command runs (default: moved out of the way) */
  persist?: boolean;
  /** param name -> value as it enters the key */
  params: Record<string, unknown>;
  /** names of stages that must be up to date first */
  needs: string[];
  env: Record<string, string>;
  resources: Resources;
  /** false: run without network access (unshare -n) */
  network?: boolean;
  /** project-relative folder the command runs in (default: project root) */
  cwd?: string;
  /** the foreach item key this stage was expanded for, if any */
  job?: string;
  /** the template name for stages expanded from a foreach */
  template?: string;
  /** what a foreach stage was expanded over: a var's name, `csv:FILE`, `tsv:FILE` or `matrix:{...}` (stages over the same one pair up job by job in needs) */
  foreach?: string;
  /** true: the stage runs on every run; its dependents rerun only if its outputs changed */
  alwaysChanged?: boolean;
  /** project-relative path of the stage log (default .pipe/logs/NAME.log) */
  log?: string;
  /** the pool the stage runs in: at most `depth` of its stages run at once */
  pool?: PoolRef;
  /** where its command runs, when the stage says (else the run's executor; fetch and bootstrap:* stages: local) */
  executor?: Executor;
  /** its own sbatch options */
  slurm?: SlurmOptions;
  /** times a job lost to NODE_FAIL/PREEMPTED is submitted again */
  retries?: number;
  loc: SourceLocation;
}

export type Executor = 'local' | 'slurm';

/** A `slurm:` block: sbatch options (the stage's over the pipeline's). */
export interface SlurmOptions {
  partition?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  /** minutes, or Slurm's [days-]hours:minutes:seconds */
  time?: string | number;
  extra?: string[];
  /** seconds */
  latency_wait?: number;
}

export interface PoolRef {
  name: string;
  depth: number;
}

export interface CacheRoots {
  /** absolute paths, inside the project or under an `allow_outside` folder */
  hfHome: string;
  torchHome: string;
  mlxHome: string;
  /** application caches: name -> absolute folder (PIPE_CACHE_<NAME>) */
  apps: Record<string, string>;
}

export interface Pipeline {
  /** absolute project root (folder of the pipeline file) */
  root: string;
  /** absolute path of the pipeline file */
  file: string;
  vars: Record<string, unknown>;
  env: Record<string, string>;
  cache: CacheRoots;
  /** `cache.link`: how outputs enter and leave the object store; absent: a reflink where possible, else a copy */
  link?: LinkMode;
  groups: Record<string, string[]>;
  /** group name -> its desc, where one was declared */
  groupDescs?: Record<string, string>;
  /** pool name -> depth */
  pools?: Record<string, number>;
  /** absolute folders deps may read from outside the project */
  allowOutside: string[];
  /** `executor:`: where command stages run unless --executor says otherwise */
  executor?: Executor;
  /** the top-level `slurm:` block */
  slurm?: SlurmOptions;
  /** the top-level `retries:` */
  retries?: number;
  /** `remote_cache:` (the team cache), when declared */
  remoteCache?: { url: string; readOnly: boolean };
  /** in declaration order */
  stages: Stage[];
}
