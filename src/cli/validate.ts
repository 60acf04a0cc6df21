/** pipe validate: schema, references, cycles, output clashes (always from the file, never from the compiled cache). */
import path from 'node:path';
import { matchTargets } from '../graph/select.js';
import type { GlobalOptions } from './options.js';
import { openWithShorthands } from './session.js';

/** With targets, also checks that each one selects something. */
export async function validateCommand(words: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words, { useCompiled: false });
  if (targets.length) matchTargets(targets, project.selectable);
  const file = project.file;
  const summary = { file: path.relative(process.cwd(), file) || file, stages: project.graph.order.length, groups: Object.keys(project.pipeline.groups).length };
  if (globals.json) process.stdout.write(JSON.stringify({ valid: true, ...summary }) + '\n');
  else if (!globals.quiet) process.stdout.write(`${summary.file}: valid (${summary.stages} stages, ${summary.groups} groups)\n`);
}
