/** `pools: {name: depth}` and a stage's `pool:`: checks every reference and hands each stage its pool and depth. */
import type { PipelineError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import type { RawPipeline, RawStage } from './schema.js';
import { errorAt, type YamlSource } from './source.js';
import type { Stage } from './types.js';

/** `checked`: the stage definitions whose pool to check (an incremental compile passes the changed ones alone). */
export function attachPools(src: YamlSource, raw: RawPipeline, stages: Stage[], errors: PipelineError[], checked: Iterable<[string, RawStage]>): Record<string, number> {
  const pools = raw.pools ?? {};
  const names = Object.keys(pools);
  for (const [template, stage] of checked) {
    if (stage.pool === undefined || Object.hasOwn(pools, stage.pool)) continue;
    const declared = names.length ? `; declared pools: ${names.join(', ')}` : '; declare it under top-level pools: (e.g. pools: {apt: 1})';
    errors.push(errorAt(src, ['stages', template, 'pool'], `unknown pool '${stage.pool}'${didYouMean(stage.pool, names)}${declared}`));
  }
  if (names.length === 0) return pools; // nothing to attach (every reference was an error above)
  for (const stage of stages) {
    const pool = raw.stages[stage.template ?? stage.name]?.pool;
    if (pool !== undefined && Object.hasOwn(pools, pool)) stage.pool = { name: pool, depth: pools[pool]! };
  }
  return pools;
}
