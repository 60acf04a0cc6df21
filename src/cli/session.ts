/** Opening the project for a command: the pipeline file, --set values and the pipeline's own shorthands. */
import { matchTargets, defaultSelection, hasPart, selectPart, withUpstream, type PartOfGraph } from '../graph/select.js';
import { findPipelineFile, openProject, type Project } from '../project.js';
import { UserError } from '../util/errors.js';
import { applyShorthands, parseSets, type GlobalOptions } from './options.js';

const RUN_OPTIONS = ['--set', '--sweep', '--profile', '--jobs', '--dry-run', '--force', '--keep-going', '--offline', '--no-network', '--watch', '--from', '--until', '--downstream', '--json', '--quiet', '--verbose', '--file'];

export async function open(globals: GlobalOptions, setOptions: string[] = []): Promise<Project> {
  const file = findPipelineFile(globals.file);
  return openProject(file, await parseSets(setOptions));
}

/**
 * One grammar for every command that takes targets or vars (run, status, explain, env, graph, clean, list,
 * validate): words that are not targets are the pipeline's declared shorthands (--media FILE, -t es).
 */
export async function openWithShorthands(
  globals: GlobalOptions,
  setOptions: string[],
  words: string[],
  opts: { useCompiled?: boolean } = {},
  extraSets: Record<string, unknown> = {},
): Promise<{ project: Project; targets: string[]; sets: Record<string, unknown> }> {
  const file = findPipelineFile(globals.file);
  const explicit = { ...(await parseSets(setOptions)), ...extraSets };
  if (!words.some((w) => w.startsWith('-') && w !== '-')) {
    return { project: await openProject(file, explicit, opts), targets: words, sets: explicit };
  }
  const plain = await openProject(file, {}, opts);
  const { targets, sets } = applyShorthands(words, plain.args, RUN_OPTIONS);
  const merged = { ...sets, ...explicit };
  return { project: await openProject(file, merged, opts), targets, sets: merged };
}

/** The one stage a command such as explain or env is about, named like any target (a name, an output path). */
export function oneStage(project: Project, targets: string[], command: string): string {
  if (targets.length !== 1) throw new UserError(`${command} takes one stage${targets.length ? `, not ${targets.length}: ${targets.join(' ')}` : ''}`);
  const chosen = matchTargets(targets, project.selectable);
  if (chosen.length !== 1) {
    throw new UserError(`${command} takes one stage: '${targets[0]}' selects ${chosen.length ? `${chosen.length}: ${chosen.slice(0, 5).join(', ')}${chosen.length > 5 ? ', ...' : ''}` : 'none'}`);
  }
  return chosen[0]!;
}

/** The targets and everything upstream (or the part --from/--until/--downstream cut out), in topological order. */
export function selectStages(project: Project, targets: string[], part: PartOfGraph = {}): string[] {
  const g = project.selectable;
  if (hasPart(part)) return selectPart(targets, g, part);
  return targets.length ? withUpstream(matchTargets(targets, g), g) : defaultSelection(g);
}
