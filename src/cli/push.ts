/**
 * pipe push: uploads to the team cache what this machine's cache holds for the targets' current keys
 * (their outputs, fetched model snapshots, then each record), skipping what the server already holds.
 * A stage whose current inputs were never built here is listed, not built.
 */
import { openEngine, type EngineContext } from '../plan/context.js';
import { fetchContext, loadFetch } from '../plan/fetch-freshness.js';
import type { StagePlan } from '../plan/plan.js';
import { openTeamCache } from '../remote/open.js';
import { RemoteError, type TeamCache } from '../remote/team-cache.js';
import { bytes, paint } from '../report/format.js';
import type { RunCacheEntry } from '../state/stores.js';
import { EXIT, UserError } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import type { GlobalOptions } from './options.js';
import { makeReporter } from './reporter.js';
import { openWithShorthands, selectStages } from './session.js';
import { planOf } from './states.js';

type Result = 'pushed' | 'present' | 'not-built' | 'failed';

interface Pushed {
  stage: string;
  result: Result;
  detail?: string;
  /** the server failed (not this stage's content) */
  fault?: boolean;
}

const STAGES_AT_ONCE = 8;

export async function pushCommand(words: string[], opts: { set: string[]; remoteCache?: string }, globals: GlobalOptions): Promise<void> {
  const started = Date.now();
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  const order = selectStages(project, targets);
  const reporter = await makeReporter(globals, project, order.length, false);
  const remote = openTeamCache(project, { remoteCache: opts.remoteCache }, reporter);
  if (!remote) throw new UserError('pipe push needs a team cache: --remote-cache URL, PIPE_REMOTE_CACHE or remote_cache: in pipeline.yaml');
  const engine = openEngine(project);
  remote.layer(engine.local);
  const team = remote.team()!;
  if (team.readOnly) throw new UserError(`the team cache ${team.stats.url} is read-only for this command (--remote-cache-read-only, PIPE_REMOTE_CACHE_READ_ONLY or read_only: true): push writes nothing`);
  const plans = await planOf(engine, order);
  const limit = new Limiter(STAGES_AT_ONCE);
  let unusable: string | undefined; // after the first fault of the server, the rest is not tried
  const results = await Promise.all(plans.map((plan) => limit.run(async () => {
    if (unusable) return { stage: plan.name, result: 'failed' as const, detail: `not tried: ${unusable}` };
    const pushed = await pushStage(engine, team, plan);
    if (pushed.fault) unusable ??= `the team cache is not usable (${pushed.detail})`;
    return pushed;
  })));
  print(results, team, globals, Date.now() - started);
  process.exitCode = results.some((r) => r.result === 'failed') ? EXIT.stageFailed : EXIT.ok;
}

async function pushStage(engine: EngineContext, team: TeamCache, plan: StagePlan): Promise<Pushed> {
  const stage = engine.project.stages.get(plan.name)!;
  const key = plan.inputs?.key;
  const built = plan.decision.action === 'skip' || plan.decision.action === 'restore';
  if (!key || !built) return { stage: plan.name, result: 'not-built', detail: 'not built for its current inputs (run it first)' };
  try {
    if (await team.holds(key)) return { stage: plan.name, result: 'present' };
    if (stage.fetch) return (await pushSnapshot(engine, team, plan, key)) ?? { stage: plan.name, result: 'not-built', detail: 'its model snapshot is not verified on this machine (run it first)' };
    const entry = localEntry(engine, plan);
    if (entry && (await team.uploadNow(entry))) return { stage: plan.name, result: 'pushed' };
    return { stage: plan.name, result: 'not-built', detail: 'its outputs are not in the local cache' };
  } catch (err) {
    return { stage: plan.name, result: 'failed', detail: err instanceof Error ? err.message : String(err), fault: err instanceof RemoteError };
  }
}

/** What the local caches hold for the stage's current key: its record when fresh, else the run-cache's entry. */
function localEntry(engine: EngineContext, plan: StagePlan): RunCacheEntry | undefined {
  const d = plan.decision;
  if (d.action === 'restore') return d.from;
  const record = engine.records.stage(plan.name);
  return record && { key: record.key, outs: record.outs, outputHash: record.outputHash };
}

async function pushSnapshot(engine: EngineContext, team: TeamCache, plan: StagePlan, key: string): Promise<Pushed | undefined> {
  const fetch = await loadFetch();
  const ctx = await fetchContext(engine, { offline: true, signal: new AbortController().signal });
  const shared = await fetch.sharedSnapshot(engine.project.stages.get(plan.name)!.fetch!, ctx);
  if (!shared) return undefined;
  await team.uploadSnapshotNow(key, shared.snapshot, shared.blobOf);
  return { stage: plan.name, result: 'pushed' };
}

function print(results: Pushed[], team: TeamCache, globals: GlobalOptions, ms: number): void {
  const count = (r: Result) => results.filter((x) => x.result === r).length;
  const summary = { pushed: count('pushed'), present: count('present'), notBuilt: count('not-built'), failed: count('failed'), uploadedBytes: team.stats.uploadedBytes };
  if (globals.json) {
    const lines = results.map((r) => JSON.stringify({ type: 'push', stage: r.stage, result: r.result, ...(r.detail ? { detail: r.detail } : {}) }));
    lines.push(JSON.stringify({ type: 'summary', ...summary, url: team.stats.url, ms }));
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const p = paint(globals.color && process.stdout.isTTY === true);
  const shown: Record<Result, (t: string) => string> = { pushed: p.green, present: (t) => t, 'not-built': p.yellow, failed: p.red };
  const words: Record<Result, string> = { pushed: 'pushed', present: 'already in the team cache', 'not-built': 'not pushed', failed: 'failed' };
  const width = Math.min(48, Math.max(...results.map((r) => r.stage.length), 4));
  const lines = results
    .filter((r) => !globals.quiet || r.result === 'failed' || r.result === 'not-built')
    .map((r) => `${r.stage.padEnd(width)}  ${shown[r.result](words[r.result])}${r.detail ? `: ${r.detail}` : ''}`);
  lines.push(`${team.stats.url}: pushed ${summary.pushed} stage(s) (${bytes(summary.uploadedBytes)}), ${summary.present} already there, ${summary.notBuilt} not built here, ${summary.failed} failed`);
  process.stdout.write(lines.join('\n') + '\n');
}
