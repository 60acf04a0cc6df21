/** pipe env [STAGE]: the environment pipe gives a stage, as shell-sourceable lines. */
import { cacheVariables, isSecretName, stageVariables } from '../exec/environment.js';
import { shellQuote } from '../pipeline/interpolate.js';
import type { GlobalOptions } from './options.js';
import { oneStage, openWithShorthands } from './session.js';

export async function envCommand(words: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  let vars: Record<string, string>;
  if (targets.length === 0) {
    vars = { ...project.pipeline.env, ...cacheVariables(project.pipeline) };
  } else {
    const stage = project.stages.get(oneStage(project, targets, 'env'))!;
    const fetchStages = new Set(project.pipeline.stages.filter((s) => s.fetch).map((s) => s.name));
    vars = stageVariables(project.pipeline, stage, fetchStages);
  }
  const shown = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, isSecretName(k) ? '<redacted>' : v]));
  if (globals.json) {
    process.stdout.write(JSON.stringify(shown) + '\n');
    return;
  }
  process.stdout.write(Object.entries(shown).map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n') + '\n');
}
