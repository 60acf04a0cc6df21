/**
 * pipe checkout RUN: puts the outputs a recorded run left (a sweep variant, an earlier run) back in the
 * workspace from the cache, running nothing. Only paths the pipeline declares as outputs are written, and an
 * output edited by hand (its content is not in the cache) is not overwritten without --force.
 */
import type { GlobalOptions } from './options.js';
import { open } from './session.js';
import { RunHistory } from '../state/run-history.js';
import { openEngine, absolute, type EngineContext } from '../plan/context.js';
import { acquireLock } from '../state/lock.js';
import { dropSnapshots } from './fast-noop.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { EXIT, UserError } from '../util/errors.js';
import type { OutputRecord } from '../state/records.js';
import { valueText } from './runs.js';

interface Planned {
  stage: string;
  out: OutputRecord;
}

export async function checkoutCommand(ref: string, opts: { force?: boolean }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const run = new RunHistory(project.stateDir).resolve(ref);
  const lock = await acquireLock(project.stateDir, {
    command: `pipe checkout ${run.id}`,
    onWait: (h) => process.stderr.write(`waiting for pid ${h.pid} (${h.command})\n`),
    onTakeOver: (m) => process.stderr.write(`${m}\n`),
  });
  try {
    dropSnapshots(project.root);
    const engine = openEngine(project);
    const declared = new Set([...project.stages.values()].flatMap((s) => s.outs));
    const planned: Planned[] = [];
    const skipped: string[] = [];
    for (const stage of run.stages) {
      for (const out of stage.outs ?? []) {
        if (!declared.has(out.path) || escapeThroughSymlink(project.root, out.path)) skipped.push(out.path);
        else planned.push({ stage: stage.name, out });
      }
    }
    if (planned.length === 0) throw new UserError(`run ${run.id} left no outputs that this pipeline declares: nothing to check out`);
    const { toWrite, inPlace } = await compare(engine, planned, !!opts.force);
    const missing = await notInCache(engine, toWrite);
    if (missing.length) {
      throw new UserError(`run ${run.id}: the cache no longer holds ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, ... (${missing.length})` : ''} (dropped by pipe gc?); nothing was changed`, EXIT.stageFailed);
    }
    for (const { out } of toWrite) {
      const abs = absolute(engine, out.path);
      engine.stats.invalidate(abs);
      await engine.objects.restore(out, abs, out.path);
      await engine.stats.hash(abs);
    }
    engine.stats.save();
    engine.records.close();
    engine.local.runs.close();
    report(run.id, toWrite.length, inPlace, skipped, run.sets, globals);
  } finally {
    lock.release();
  }
}

/** Which outputs differ from the run's; an output whose current content the cache does not hold is refused. */
async function compare(engine: EngineContext, planned: Planned[], force: boolean): Promise<{ toWrite: Planned[]; inPlace: number }> {
  const toWrite: Planned[] = [];
  const edited: string[] = [];
  let inPlace = 0;
  for (const p of planned) {
    const now = await engine.stats.hash(absolute(engine, p.out.path));
    if (now.kind === p.out.kind && now.hash === p.out.hash && !!now.exec === !!p.out.exec) {
      inPlace++;
      continue;
    }
    if (!force && now.kind !== 'missing' && !(await engine.objects.has(now))) edited.push(p.out.path);
    toWrite.push(p);
  }
  if (edited.length) {
    throw new UserError(`not checked out: ${edited.slice(0, 5).join(', ')}${edited.length > 5 ? ', ...' : ''} ${edited.length === 1 ? 'was' : 'were'} changed by hand and the cache does not hold ${edited.length === 1 ? 'it' : 'them'}; --force overwrites`, EXIT.stageFailed);
  }
  return { toWrite, inPlace };
}

async function notInCache(engine: EngineContext, planned: Planned[]): Promise<string[]> {
  const missing: string[] = [];
  for (const { out } of planned) {
    const problem = out.kind === 'missing' ? undefined : await engine.objects.problem(out);
    if (problem) missing.push(out.path);
  }
  return missing;
}

function report(id: string, written: number, inPlace: number, skipped: string[], sets: Record<string, unknown>, globals: GlobalOptions): void {
  if (globals.json) {
    process.stdout.write(JSON.stringify({ run: id, restored: written, unchanged: inPlace, skipped }) + '\n');
    return;
  }
  process.stdout.write(`checked out run ${id}: ${written} output${written === 1 ? '' : 's'} put back from the cache, ${inPlace} already in place; nothing ran\n`);
  if (skipped.length) process.stderr.write(`not written (no stage declares ${skipped.length === 1 ? 'it' : 'them'} any more): ${skipped.join(', ')}\n`);
  const setWords = Object.entries(sets).map(([k, v]) => `--set ${k}=${valueText(v)}`).join(' ');
  process.stderr.write(`\`pipe run\` brings back the current parameters' outputs${setWords ? `; \`pipe run ${setWords}\` is this run's` : ''}\n`);
}

