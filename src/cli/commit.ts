/**
 * pipe commit STAGE...: adopt work already done (DVC's `commit`, Snakemake's `--touch`). The stage's current
 * outputs are recorded as the result of its current key, without running it: hashed, kept in the cache, and
 * written to its record and the run-cache, so the next `pipe run` finds it fresh and what is downstream is
 * judged against these outputs. It shows what it will record first, and records only when confirmed.
 */
import { lstatSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { matchTargets } from '../graph/select.js';
import { absolute, openEngine, type EngineContext } from '../plan/context.js';
import { recordOf } from '../plan/decide.js';
import { EscapeCheck, EscapeError } from '../plan/escapes.js';
import { outputDigest, stageInputs, type StageInputs } from '../plan/inputs.js';
import type { Stage } from '../pipeline/types.js';
import type { Project } from '../project.js';
import { bytes } from '../report/format.js';
import { remember, saveState, storeOutputs } from '../exec/record-outputs.js';
import { acquireLock } from '../state/lock.js';
import type { OutputRecord } from '../state/records.js';
import { EXIT, UserError } from '../util/errors.js';
import type { GlobalOptions } from './options.js';
import { openWithShorthands } from './session.js';

export interface CommitOptions {
  set: string[];
  yes?: boolean;
  dryRun?: boolean;
}

/** What commit will do with one stage. */
interface Adoption {
  stage: Stage;
  inputs: StageInputs;
  outs: OutputRecord[];
  outputHash: string;
  /** 'record': a new record; 'unchanged': its record already says exactly this */
  action: 'record' | 'unchanged';
  /** what the stage was before: no record, or a record of another key or other outputs */
  was: 'never-run' | 'stale' | 'fresh';
}

export async function commitCommand(words: string[], opts: CommitOptions, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  if (targets.length === 0) throw new UserError("pipe commit takes the stages whose outputs to record: pipe commit STAGE... (see 'pipe list')");
  const names = matchTargets(targets, project.selectable);
  refuseFetchStages(project, names);
  const lock = opts.dryRun ? undefined : await acquireLock(project.stateDir, {
    command: `pipe commit ${targets.join(' ')}`,
    onWait: (h) => process.stderr.write(`waiting for another run of this project to finish: pid ${h.pid} (${h.command})\n`),
    onTakeOver: (m) => process.stderr.write(`${m}\n`),
  });
  try {
    const engine = openEngine(project);
    const adoptions = await adoptionsOf(engine, names, globals.quiet || globals.json ? undefined : (line) => process.stderr.write(line + '\n'));
    const toRecord = adoptions.filter((a) => a.action === 'record');
    printPlan(adoptions, globals, !!opts.dryRun);
    if (opts.dryRun || toRecord.length === 0) return;
    if (!opts.yes) await confirm(toRecord.length);
    for (const a of toRecord) {
      const outs = await storeOutputs(engine, a.stage);
      // hashed again through the stat cache: an output edited since it was shown is recorded as it is now
      await remember(engine, recordOf(a.stage, a.inputs, outs, outputDigest(outs), 0));
    }
    saveState(engine);
    if (!globals.json && !globals.quiet) process.stderr.write(`recorded ${toRecord.length} stage(s); 'pipe run' now finds them up to date\n`);
    if (globals.json) process.stdout.write(JSON.stringify({ type: 'committed', stages: toRecord.map((a) => a.stage.name) }) + '\n');
  } finally {
    lock?.release();
  }
}

function refuseFetchStages(project: Project, names: string[]): void {
  const fetches = names.filter((n) => project.stages.get(n)!.fetch);
  if (fetches.length) {
    throw new UserError(`pipe commit records command stages; ${fetches.join(', ')} ${fetches.length > 1 ? 'are fetch stages' : 'is a fetch stage'}: 'pipe run' verifies a model already in the cache without downloading it`);
  }
}

/**
 * In dependency order, each stage's current key and outputs. A stage's upstream is judged by what this
 * commit records for it, else by its record; every problem (a missing output, a missing dep, an upstream
 * stage never recorded) is collected, and any one of them records nothing.
 */
async function adoptionsOf(engine: EngineContext, names: string[], progress?: (line: string) => void): Promise<Adoption[]> {
  const escapes = new EscapeCheck(engine);
  const adopted = new Map<string, string>();
  const problems: string[] = [];
  const adoptions: Adoption[] = [];
  for (const name of names) {
    const stage = engine.project.stages.get(name)!;
    const upstream: Record<string, string> = Object.create(null);
    const unrecorded: string[] = [];
    for (const u of engine.project.graph.upstream[name] ?? []) {
      const hash = adopted.get(u) ?? engine.records.stage(u)?.outputHash;
      if (hash === undefined) unrecorded.push(u);
      else upstream[u] = hash;
    }
    if (unrecorded.length) {
      problems.push(`${name}: upstream stage ${unrecorded.join(', ')} has no record; commit it too (pipe commit ${[...unrecorded, name].join(' ')}) or run it first`);
      continue;
    }
    const missingOuts = stage.outs.filter((out) => !lstatSync(absolute(engine, out), { throwIfNoEntry: false }));
    if (missingOuts.length) {
      problems.push(`${name}: output${missingOuts.length > 1 ? 's' : ''} ${missingOuts.join(', ')} missing; there is nothing to record for ${missingOuts.length > 1 ? 'them' : 'it'}`);
      continue;
    }
    const escaping = escapes.writing(stage.outs);
    if (escaping) {
      problems.push(`${name}: ${escaping}`);
      continue;
    }
    let inputs: StageInputs;
    try {
      inputs = await stageInputs(engine, stage, upstream, undefined, (dep) => escapes.refuseReading(dep));
    } catch (err) {
      if (!(err instanceof EscapeError)) throw err;
      problems.push(`${name}: ${err.message}`);
      continue;
    }
    if (inputs.missing.length) {
      problems.push(`${name}: dep${inputs.missing.length > 1 ? 's' : ''} ${inputs.missing.join(', ')} missing; its key cannot be computed`);
      continue;
    }
    const outs = await hashOutputs(engine, stage, progress);
    const outputHash = outputDigest(outs);
    adopted.set(name, outputHash);
    const record = engine.records.stage(name);
    const same = record !== undefined && record.key === inputs.key && record.outputHash === outputHash;
    adoptions.push({ stage, inputs, outs, outputHash, action: same ? 'unchanged' : 'record', was: !record ? 'never-run' : same ? 'fresh' : 'stale' });
  }
  if (problems.length) {
    throw new UserError(`nothing recorded:\n${problems.map((p) => `  ${p}`).join('\n')}`, EXIT.invalid);
  }
  return adoptions;
}

/** Hashing 20 GB of models takes a while: say which output is being read when it is large. */
const LARGE = 64 * 1024 * 1024;

async function hashOutputs(engine: EngineContext, stage: Stage, progress?: (line: string) => void): Promise<OutputRecord[]> {
  const outs: OutputRecord[] = [];
  for (const out of stage.outs) {
    const abs = absolute(engine, out);
    const st = lstatSync(abs);
    // a folder's size is known only once it is read: say it is being read
    if ((st.isDirectory() || st.size >= LARGE) && !engine.stats.peek(abs)) progress?.(`hashing ${out}${st.isDirectory() ? '/' : ` (${bytes(st.size)})`} ...`);
    const h = await engine.stats.hash(abs);
    outs.push({ path: out, kind: h.kind, hash: h.hash, size: h.size, ...(h.exec ? { exec: true } : {}) });
  }
  return outs;
}

function printPlan(adoptions: Adoption[], globals: GlobalOptions, dryRun: boolean): void {
  if (globals.json) {
    process.stdout.write(JSON.stringify({
      type: 'commit-plan',
      dryRun,
      stages: adoptions.map((a) => ({ name: a.stage.name, action: a.action, was: a.was, key: a.inputs.key, outs: a.outs.map(({ path, kind, hash, size }) => ({ path, kind, hash, size })) })),
    }) + '\n');
    return;
  }
  const lines: string[] = [];
  for (const a of adoptions) {
    const what = a.action === 'unchanged' ? 'already recorded with these outputs: nothing to do' : a.was === 'never-run' ? 'never run: will record' : 'recorded otherwise: will replace its record';
    lines.push(`${a.stage.name}  ${what}  (key ${a.inputs.key.slice(0, 12)})`);
    if (a.action === 'record') for (const o of a.outs) lines.push(`  ${o.path}  ${o.kind === 'dir' ? 'folder, ' : ''}${bytes(o.size ?? 0)}  ${o.hash.slice(0, 12)}`);
  }
  const n = adoptions.filter((a) => a.action === 'record').length;
  lines.push(n ? `${dryRun ? 'would record' : 'will record'} ${n} stage(s) as up to date without running them` : 'nothing to record: every stage is already recorded with these outputs');
  process.stdout.write(lines.join('\n') + '\n');
}

/** Asks on the terminal; where nobody can answer (a script, CI), refuses rather than guessing. */
async function confirm(count: number): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UserError('commit: not recording without confirmation, and stdin is not a terminal to ask on; pass --yes (-y) to record, or -n to only show');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`Record ${count} stage(s) as up to date without running them? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new UserError('nothing recorded', EXIT.ok);
  } finally {
    rl.close();
  }
}
