/**
 * Paths a pipeline may not write to. An output is moved aside before its stage runs, restored from the cache
 * and removed by `pipe clean`; a log is truncated; a cache root is filled with downloads. None of these may
 * be the project itself, git's or pipe's own state, the pipeline file or what it imports, nor a folder
 * holding any of them: `outs: [.]` would let a restore swap out the whole project.
 */
import picomatch from 'picomatch';
import { isGlob } from './paths.js';
import type { Stage } from './types.js';

export interface Protected {
  /** project-relative POSIX path of the pipeline file */
  pipelineFile: string;
  /** project-relative paths of the imported files */
  imports: string[];
}

const STATE_DIRS = ['.git', '.pipe'];
/** stage logs live here by default; a `log:` may point here too */
const LOG_DIR = '.pipe/logs';

function within(parent: string, child: string): boolean {
  return parent === '.' || child === parent || child.startsWith(`${parent}/`);
}

/** Why `rel` may not be written by pipe (as an output, log or cache root), or undefined when it may. */
function writeProblem(rel: string, p: Protected, allowed?: string): string | undefined {
  if (rel === '.') return 'is the project root itself';
  for (const dir of STATE_DIRS) {
    if (allowed && rel.startsWith(`${allowed}/`)) break;
    if (within(dir, rel)) return rel === dir ? `is ${dir}, ${stateOf(dir)}` : `is inside ${dir}, ${stateOf(dir)}`;
    if (within(rel, dir)) return `contains ${dir}, ${stateOf(dir)}`;
  }
  // no list built per call: a foreach of 100,000 jobs asks this for every output
  const file = (path: string, what: string) => (rel === path ? `is ${what}` : within(rel, path) ? `contains ${what} (${path})` : undefined);
  const problem = file(p.pipelineFile, 'the pipeline file');
  if (problem) return problem;
  for (const i of p.imports) {
    const inImport = file(i, 'a file the pipeline imports');
    if (inImport) return inImport;
  }
  return undefined;
}

function stateOf(dir: string): string {
  return dir === '.git' ? "git's repository" : "pipe's own state";
}

export function outputProblem(rel: string, p: Protected): string | undefined {
  const problem = writeProblem(rel, p);
  return problem && `output '${rel}' ${problem}; pipe moves, restores and cleans outputs, so it may not own that`;
}

export function logProblem(rel: string, p: Protected): string | undefined {
  const problem = writeProblem(rel, p, LOG_DIR);
  return problem && `log '${rel}' ${problem}; a log is overwritten on every run`;
}

export function cacheRootProblem(key: string, rel: string, p: Protected): string | undefined {
  const problem = writeProblem(rel, p);
  return problem && `cache root ${key} '${rel}' ${problem}; downloads are written there`;
}

export interface LogClash {
  stage: Stage;
  detail: string;
}

/**
 * A log may not be another stage's log, nor any stage's dep or output (nor hold one, nor lie inside one):
 * writing it would change what a stage reads or produces.
 */
export function logClashes(stages: Stage[]): LogClash[] {
  const clashes: LogClash[] = [];
  const logOwner = new Map<string, string>();
  for (const stage of stages) {
    if (!stage.log) continue;
    const owner = logOwner.get(stage.log);
    if (owner !== undefined && owner !== stage.name) {
      clashes.push({ stage, detail: `log '${stage.log}' is also the log of stage '${owner}'` });
    } else {
      logOwner.set(stage.log, stage.name);
    }
  }
  if (logOwner.size === 0) return clashes;
  const byName = new Map(stages.map((s) => [s.name, s]));
  const logsBelow = foldersAbove([...logOwner.keys()]);
  for (const stage of stages) {
    for (const [kind, paths] of [['output', stage.outs], ['dep', stage.deps]] as const) {
      for (const p of paths) {
        for (const log of overlappingLogs(p, logOwner, logsBelow)) {
          clashes.push({ stage: byName.get(logOwner.get(log)!)!, detail: `log '${log}' overlaps ${kind} '${p}' of stage '${stage.name}'; a log may not be a dep or an output` });
        }
      }
    }
  }
  return clashes;
}

/** every folder above a log -> the logs below it */
function foldersAbove(logs: string[]): Map<string, string[]> {
  const below = new Map<string, string[]>();
  for (const log of logs) {
    const parts = log.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      const logs = below.get(folder);
      if (logs) logs.push(log);
      else below.set(folder, [log]);
    }
  }
  return below;
}

/** The logs equal to `p`, above it or below it: found through indexes, as every stage's paths are checked. */
function overlappingLogs(p: string, logOwner: Map<string, string>, logsBelow: Map<string, string[]>): string[] {
  if (p === '.') return [...logOwner.keys()];
  if (isGlob(p)) {
    const matches = picomatch(p, { dot: true });
    return [...logOwner.keys()].filter((log) => matches(log));
  }
  const found = new Set<string>(logsBelow.get(p) ?? []);
  const parts = p.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (logOwner.has(prefix)) found.add(prefix);
  }
  return [...found];
}
