/** Opening the project for a command: the pipeline file, --set values and the pipeline's own shorthands. */
import { matchTargets, defaultTargets, withUpstream } from '../graph/select.js';
import { findPipelineFile, openProject, type Project } from '../project.js';
import { applyShorthands, parseSets, type GlobalOptions } from './options.js';

const RUN_OPTIONS = ['--set', '--jobs', '--dry-run', '--force', '--keep-going', '--offline', '--no-network', '--watch', '--json', '--quiet', '--verbose', '--file'];

export async function open(globals: GlobalOptions, setOptions: string[] = []): Promise<Project> {
  const file = findPipelineFile(globals.file);
  return openProject(file, await parseSets(setOptions));
}

/** For run: words that are not targets are the pipeline's declared shorthands (--media FILE, -t es). */
export async function openWithShorthands(globals: GlobalOptions, setOptions: string[], words: string[]): Promise<{ project: Project; targets: string[]; sets: Record<string, unknown> }> {
  const file = findPipelineFile(globals.file);
  const explicit = await parseSets(setOptions);
  if (!words.some((w) => w.startsWith('-') && w !== '-')) {
    return { project: await openProject(file, explicit), targets: words, sets: explicit };
  }
  const plain = await openProject(file, {});
  const { targets, sets } = applyShorthands(words, plain.args, RUN_OPTIONS);
  const merged = { ...sets, ...explicit };
  return { project: await openProject(file, merged), targets, sets: merged };
}

/** The targets and everything upstream, in topological order. */
export function selectStages(project: Project, targets: string[]): string[] {
  const g = project.selectable;
  const chosen = matchTargets(targets.length ? targets : defaultTargets(g), g);
  return withUpstream(chosen, g);
}
