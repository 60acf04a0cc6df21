/** pipe env [STAGE]: the environment pipe gives a stage, as shell-sourceable lines. */
import { cacheVariables, isSecretName, stageVariables } from '../exec/environment.js';
import { shellQuote } from '../spec/interpolate.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import type { GlobalOptions } from './options.js';
import { open } from './session.js';

export async function envCommand(stageName: string | undefined, opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals, opts.set);
  let vars: Record<string, string>;
  if (stageName === undefined) {
    vars = { ...project.pipeline.env, ...cacheVariables(project.pipeline) };
  } else {
    const stage = project.stages.get(stageName);
    if (!stage) throw new UserError(`unknown stage '${stageName}'${didYouMean(stageName, project.stages.keys())}`);
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
