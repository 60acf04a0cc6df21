/** The zod schema of pipeline.yaml version 1 (before interpolation). The JSON Schema for editors is generated from it. */
import { z } from 'zod';
import { APP_CACHE_NAME } from './reserved-env.js';
import { LINK_MODES } from '../state/link-mode.js';

export const STAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const MATRIX_KEY = /^[A-Za-z0-9_-]+$/;
export const POOL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** A group name may hold ${references} (resolved per foreach item); the result must be a STAGE_NAME. */
const GROUP_NAME = /^([A-Za-z0-9_.:@-]|\$\{[^}]*\})+$/;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const nonEmptyString = z.string().min(1, 'must not be empty');
const memory = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?$/i, 'a size like 512M, 2G or 2GiB'),
]);

export const hfFetchSchema = z.strictObject({
  hf: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'a Hugging Face repository id like org/name'),
  revision: nonEmptyString.describe('a commit sha (a branch or tag is resolved when fetched)'),
  include: z.array(nonEmptyString).optional().describe('globs of the files to fetch (default: all)'),
  repoType: z.enum(['model', 'dataset']).optional(),
});

export const urlFetchSchema = z.strictObject({
  url: z.string().regex(/^https?:\/\//, 'an http(s) URL'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  to: nonEmptyString.describe('where the file lands, relative to the project root'),
});

export const fetchSchema = z.union([hfFetchSchema, urlFetchSchema]);

/** sbatch arguments that pipe sets itself: a stage's `extra` must not set them differently. */
const MANAGED_SBATCH = /^--?(J|o|e|D|job-name|output|error|chdir|export|parsable|wrap|array|dependency|c|cpus-per-task|mem|gres)(=|$)/;

export const slurmSchema = z.strictObject({
  partition: nonEmptyString.optional().describe('sbatch --partition'),
  account: nonEmptyString.optional().describe('sbatch --account'),
  qos: nonEmptyString.optional().describe('sbatch --qos'),
  constraint: nonEmptyString.optional().describe('sbatch --constraint (node features)'),
  time: z.union([z.string().regex(/^(\d+-)?\d+(:\d+){0,2}$/, 'a Slurm time like 30, 2:00:00 or 1-12:00:00'), z.number().int().positive()]).optional()
    .describe('sbatch --time: minutes, or [days-]hours:minutes:seconds'),
  extra: z.array(z.string().regex(/^-/, 'one sbatch option like --exclusive or --nice=10').refine((a) => !MANAGED_SBATCH.test(a), 'pipe sets this option itself (from the stage and its resources)')).optional()
    .describe('more sbatch options, one word each'),
  latency_wait: z.number().nonnegative().optional()
    .describe('seconds to wait for outputs that a shared filesystem shows late, once a job has ended (default 5)'),
});

const executorSchema = z.enum(['local', 'slurm']).describe('where command stages run: local processes or Slurm jobs');
const retriesSchema = z.number().int().nonnegative().describe('times a Slurm job that ended NODE_FAIL or PREEMPTED is submitted again (default 0)');

export const stageSchema = z.strictObject({
  desc: z.string().optional(),
  cmd: z.union([nonEmptyString, z.array(z.string()).min(1, 'must not be empty')]).optional()
    .describe('a string run by /bin/sh (interpolated values are shell-quoted) or an argv list'),
  fetch: z.union([fetchSchema, z.string().regex(/^\$\{[^}]+\}$/, 'a fetch map, or one ${reference} to a map')]).optional(),
  deps: z.array(nonEmptyString).optional().describe('files, folders or globs whose content enters the key'),
  outs: z.array(nonEmptyString).optional().describe('files or folders the stage writes'),
  metrics: z.array(nonEmptyString).optional().describe('outputs holding numbers (JSON or YAML, nested) that pipe metrics reads; cached and restored like outs'),
  plots: z.array(nonEmptyString).optional().describe('outputs holding series (CSV/TSV or JSON) that pipe plots draws; cached and restored like outs'),
  persist: z.boolean().optional().describe('true: the previous outputs stay in place while the command runs (appending logs, incremental training); by default they are moved out of the way first'),
  params: z.array(nonEmptyString).optional().describe('vars whose values enter the key'),
  needs: z.array(nonEmptyString).optional().describe('stages that must be up to date first'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), scalar).optional(),
  resources: z.strictObject({
    cpu: z.number().int().positive().optional(),
    gpu: z.number().int().nonnegative().optional(),
    mem: memory.optional(),
  }).optional(),
  network: z.boolean().optional().describe('false: run without network access'),
  foreach: z.union([
    z.string().regex(VAR_NAME, 'a var name'),
    z.strictObject({ csv: nonEmptyString.describe('a CSV sample sheet: one stage per row, ${item.COLUMN}') }),
    z.strictObject({ tsv: nonEmptyString.describe('a TSV sample sheet: one stage per row, ${item.COLUMN}') }),
  ], { error: 'expected a var name, {csv: FILE} or {tsv: FILE} (a sample sheet)' }).optional().describe('one stage per item of this var (a path, glob, list, or list of maps), or per row of {csv: FILE} / {tsv: FILE}'),
  matrix: z.record(z.string().regex(MATRIX_KEY, 'a key of letters, digits, _ or -'),
    z.union([z.array(z.unknown()).min(1, 'must list at least one value'), z.string().regex(/^\$\{[^}]+\}$/, 'a list, or one ${reference} to a list')]))
    .optional().describe('one stage per combination of these named lists, ${item.KEY} (as DVC\'s matrix)'),
  always_changed: z.boolean().optional().describe('true: the stage runs on every run (a clock, a remote status); what reads its outputs reruns only if they changed'),
  when: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional().describe('the stage exists only when every var has one of these values'),
  log: nonEmptyString.optional().describe('where the stage log goes (default .pipe/logs/NAME.log)'),
  pool: z.string().regex(POOL_NAME, 'a pool name').optional()
    .describe('a pool declared under top-level pools: at most its depth of its stages run at once'),
  executor: executorSchema.optional(),
  slurm: slurmSchema.optional().describe("this stage's sbatch options, over the top-level slurm: block"),
  retries: retriesSchema.optional(),
});

export const argSchema = z.strictObject({
  flags: z.array(z.string().regex(/^(-[A-Za-z]|--[A-Za-z][A-Za-z0-9-]*)$/, 'a flag like -m or --media')).min(1),
  var: z.string().regex(VAR_NAME, 'a var name'),
  list: z.boolean().optional(),
  help: z.string().optional(),
});

const memberList = z.array(nonEmptyString).describe('stages, templates, groups or globs');

export const groupSchema = z.strictObject({
  desc: z.string().optional().describe('one line for pipe list'),
  foreach: z.string().regex(VAR_NAME, 'a var name').optional()
    .describe('declare the group once per item of this var (a map: ${key} and ${item}; a list, path or glob: ${item} and ${job})'),
  members: memberList,
});

export const pipelineSchema = z.strictObject({
  version: z.literal(1),
  vars: z.record(z.string().regex(VAR_NAME, 'a var name'), z.unknown()).optional(),
  imports: z.record(z.string().regex(VAR_NAME, 'a var name'), nonEmptyString).optional()
    .describe('var name -> YAML or JSON file loaded into that var'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), scalar).optional(),
  cache: z.strictObject({
    hf_home: nonEmptyString.optional().describe('-> HF_HOME, TRANSFORMERS_CACHE; HF_HUB_CACHE = <hf_home>/hub'),
    torch_home: nonEmptyString.optional().describe('-> TORCH_HOME'),
    mlx_home: nonEmptyString.optional().describe('-> MLX_CACHE_DIR'),
    apps: z.record(z.string().regex(APP_CACHE_NAME, 'a cache name of lowercase letters, digits and _ (tmdb becomes PIPE_CACHE_TMDB)'), nonEmptyString).optional()
      .describe('application caches kept between runs: name -> folder, given to every stage as PIPE_CACHE_<NAME>'),
    link: z.enum(LINK_MODES).optional()
      .describe('how outputs enter and leave .pipe/cache: reflink (share extents; a copy where the filesystem cannot), hardlink (one read-only file shared with the cache), copy (default: a reflink where possible, else a copy)'),
  }).optional().describe('folders kept between runs, never outputs: inside the project, or under allow_outside'),
  allow_outside: z.array(z.string().regex(/^\//, 'an absolute folder')).optional()
    .describe('absolute folders that deps may read from (e.g. /usr/share/pocketsphinx) and cache roots may lie in (e.g. /scratch/hf); outputs and logs never go there'),
  remote_cache: z.union([
    z.string().regex(/^https?:\/\/[^@\s]+$/, 'an http(s) URL without user:password (credentials go in ~/.netrc or PIPE_REMOTE_CACHE_TOKEN)'),
    z.strictObject({
      url: z.string().regex(/^https?:\/\/[^@\s]+$/, 'an http(s) URL without user:password (credentials go in ~/.netrc or PIPE_REMOTE_CACHE_TOKEN)'),
      read_only: z.boolean().optional().describe('only download from the team cache, never upload'),
    }),
  ]).optional().describe('the team cache (Bazel HTTP-cache layout): --remote-cache and PIPE_REMOTE_CACHE override it'),
  args: z.array(argSchema).optional().describe('command-line shorthands for pipe run, mapped to vars'),
  groups: z.record(z.string().regex(GROUP_NAME, 'a name of letters, digits, _ . - : @ and ${references}'),
    z.union([memberList, groupSchema])).optional(),
  pools: z.record(z.string().regex(POOL_NAME, 'a pool name of letters, digits, _ . -'),
    z.number().positive('a depth is a whole number, at least 1').multipleOf(1, 'a depth is a whole number, at least 1')).optional()
    .describe('name -> depth: at most depth stages of the pool run at once (e.g. apt: 1)'),
  executor: executorSchema.optional(),
  slurm: slurmSchema.optional().describe('defaults for every Slurm job: partition, account, time, qos, constraint, extra'),
  retries: retriesSchema.optional(),
  stages: z.record(z.string().regex(STAGE_NAME, 'a name of letters, digits, _ . - : @'), stageSchema),
});

export type RawPipeline = z.infer<typeof pipelineSchema>;
export type RawStage = z.infer<typeof stageSchema>;
export type RawGroup = z.infer<typeof groupSchema>;

export function pipelineJsonSchema(): object {
  return {
    ...z.toJSONSchema(pipelineSchema, { target: 'draft-7', unrepresentable: 'any' }),
    title: 'pipe pipeline.yaml',
  };
}
