/** pipe validate: schema, references, cycles, output clashes (always from the file, never from the compiled cache). */
import { findPipelineFile, openProject } from '../project.js';
import type { GlobalOptions } from './options.js';
import { parseSets } from './options.js';
import path from 'node:path';

export async function validateCommand(opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const file = findPipelineFile(globals.file);
  const project = await openProject(file, await parseSets(opts.set), { useCompiled: false });
  const summary = { file: path.relative(process.cwd(), file) || file, stages: project.graph.order.length, groups: Object.keys(project.pipeline.groups).length };
  if (globals.json) process.stdout.write(JSON.stringify({ valid: true, ...summary }) + '\n');
  else if (!globals.quiet) process.stdout.write(`${summary.file}: valid (${summary.stages} stages, ${summary.groups} groups)\n`);
}
