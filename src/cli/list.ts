/** pipe list: stages, groups and pools with their descriptions. */
import type { GlobalOptions } from './options.js';
import { matchTargets } from '../graph/select.js';
import { openWithShorthands } from './session.js';

/** Targets narrow the list to the stages they name (no upstream). */
export async function listCommand(words: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  const names = targets.length ? matchTargets(targets, project.selectable) : project.graph.order;
  const stages = names.map((name) => {
    const s = project.stages.get(name)!;
    return {
      name, kind: s.fetch ? 'fetch' : 'cmd', desc: s.desc ?? '', job: s.job, upstream: project.graph.upstream[name] ?? [],
      ...(s.pool ? { pool: s.pool.name } : {}),
    };
  });
  const descs = project.pipeline.groupDescs ?? {};
  const groups = Object.entries(project.pipeline.groups).map(([name, members]) => ({ name, desc: descs[name] ?? '', members }));
  const pools = Object.entries(project.pipeline.pools ?? {}).map(([name, depth]) => ({
    name, depth, stages: stages.filter((s) => s.pool === name).map((s) => s.name),
  }));
  if (globals.json) {
    process.stdout.write(JSON.stringify({ stages, groups, pools }) + '\n');
    return;
  }
  const width = Math.min(40, Math.max(...stages.map((s) => s.name.length), ...groups.map((g) => g.name.length), 4));
  const row = (name: string, text: string) => `  ${name.padEnd(width)}  ${text}`.trimEnd();
  const lines = ['stages:', ...stages.map((s) => row(s.name, s.pool ? `${s.desc} [pool ${s.pool}]`.trim() : s.desc))];
  if (groups.length) {
    lines.push('groups:', ...groups.map((g) => row(g.name, g.desc ? `${g.desc}: ${g.members.join(', ')}` : g.members.join(', '))));
  }
  if (pools.length) {
    lines.push('pools:', ...pools.map((p) => row(p.name, `depth ${p.depth}${p.stages.length ? `: ${p.stages.join(', ')}` : ''}`)));
  }
  process.stdout.write(lines.join('\n') + '\n');
}
