/**
 * The scheduler: visits every selected stage once its upstream stages have finished, as many at a time as
 * the visitor's resource requests allow. It knows nothing of why a stage runs.
 */
export type Outcome = 'ok' | 'failed' | 'blocked' | 'cancelled';

export interface WalkOptions {
  /** true once no new stage may start (a failure without --keep-going, or Ctrl-C) */
  isStopping: () => boolean;
}

export type Visitor = (name: string) => Promise<'ok' | 'failed'>;

export interface BlockedReport {
  name: string;
  /** the failed stage that blocked it, or undefined when the run was stopped */
  cause?: string;
}

export async function walkGraph(
  order: string[],
  upstream: Record<string, string[]>,
  visit: Visitor,
  opts: WalkOptions,
  onBlocked: (report: BlockedReport) => void,
): Promise<Map<string, Outcome>> {
  const selected = new Set(order);
  const outcomes = new Map<string, Outcome>();
  const failedCause = new Map<string, string>();
  const pending = new Map<string, Promise<Outcome>>();

  const run = async (name: string): Promise<Outcome> => {
    const before = (upstream[name] ?? []).filter((u) => selected.has(u));
    const results = await Promise.all(before.map((u) => pending.get(u)!));
    const badIndex = results.findIndex((r) => r !== 'ok');
    if (badIndex >= 0) {
      const cause = failedCause.get(before[badIndex]!) ?? before[badIndex]!;
      failedCause.set(name, cause);
      onBlocked({ name, cause: results[badIndex] === 'cancelled' ? undefined : cause });
      return results[badIndex] === 'cancelled' ? 'cancelled' : 'blocked';
    }
    if (opts.isStopping()) {
      onBlocked({ name });
      return 'cancelled';
    }
    const outcome = await visit(name);
    if (outcome === 'failed') failedCause.set(name, name);
    return outcome;
  };

  for (const name of order) {
    const promise = run(name).then((o) => {
      outcomes.set(name, o);
      return o;
    });
    pending.set(name, promise);
  }
  await Promise.all(pending.values());
  return outcomes;
}
