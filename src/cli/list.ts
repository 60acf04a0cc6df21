/** pipe list: stages and groups with their descriptions. */
import type { GlobalOptions } from './options.js';
import { matchTargets } from '../graph/select.js';
import { openWithShorthands } from './session.js';

/** Targets narrow the list to the stages they name (no upstream). */
export async function listCommand(words: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  const names = targets.length ? matchTargets(targets, project.selectable) : project.graph.order;
  const stages = names.map((name) => {
    const s = project.stages.get(name)!;
    return { name, kind: s.fetch ? 'fetch' : 'cmd', desc: s.desc ?? '', job: s.job, upstream: project.graph.upstream[name] ?? [] };
  });
  const groups = Object.entries(project.pipeline.groups).map(([name, members]) => ({ name, members }));
  if (globals.json) {
    process.stdout.write(JSON.stringify({ stages, groups }) + '\n');
    return;
  }
  const width = Math.min(40, Math.max(...stages.map((s) => s.name.length), 4));
  const lines = ['stages:', ...stages.map((s) => `  ${s.name.padEnd(width)}  ${s.desc}`.trimEnd())];
  if (groups.length) {
    lines.push('groups:', ...groups.map((g) => `  ${g.name.padEnd(width)}  ${g.members.join(', ')}`));
  }
  process.stdout.write(lines.join('\n') + '\n');
}
