/**
 * `pipe run --help` (and the help of every command that takes shorthands) lists the shorthands the pipeline
 * found here declares under `args:`, not an example from another project. Loaded only when help is asked for.
 */
import path from 'node:path';
import { findPipelineFile, openProject } from '../project.js';
import type { DeclaredArg } from './options.js';

const GENERIC = '\nShorthand options declared under `args:` in pipeline.yaml are accepted too.';


/** The help text about shorthands, from the pipeline that -f names or the nearest one; generic when none loads. */
export async function shorthandHelp(argv: string[]): Promise<string> {
  try {
    const file = findPipelineFile(fileOption(argv.slice(2)));
    const project = await openProject(file, {});
    return describe(project.args, path.relative(process.cwd(), file) || file);
  } catch {
    return GENERIC;
  }
}

function fileOption(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-f' || arg === '--file') return args[i + 1];
    if (arg.startsWith('--file=')) return arg.slice('--file='.length);
  }
  return undefined;
}

function describe(args: DeclaredArg[], file: string): string {
  if (args.length === 0) return `\nShorthand options: ${file} declares none (under \`args:\`); use --set KEY=VALUE.`;
  const rows = args.map((a) => [`${a.flags.join(', ')} ${a.var.toUpperCase()}`, `${a.help ? `${a.help} ` : ''}(sets var ${a.var}${a.list ? '; repeatable' : ''})`] as const);
  const width = Math.max(...rows.map(([flags]) => flags.length));
  return `\nShorthand options of ${file} (its \`args:\`):\n${rows.map(([flags, text]) => `  ${flags.padEnd(width)}  ${text}`).join('\n')}`;
}
