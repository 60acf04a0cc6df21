/** Options every command shares, and the parsing of --set and of the pipeline's own shorthands. */
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';

export interface GlobalOptions {
  file?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

export interface DeclaredArg {
  flags: string[];
  var: string;
  list?: boolean;
  help?: string;
}

/** KEY=VALUE; a value in [brackets] is a YAML list, anything else a string. */
export async function parseSets(sets: string[]): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = Object.create(null); // a var may be named __proto__
  for (const item of sets) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${item}: expected KEY=VALUE`);
    result[item.slice(0, eq)] = await parseValue(item.slice(eq + 1), `--set ${item}`);
  }
  return result;
}

async function parseValue(text: string, what: string): Promise<unknown> {
  if (!text.startsWith('[')) return text;
  try {
    const value = (await import('yaml')).parse(text) as unknown;
    if (Array.isArray(value)) return value.map(String);
  } catch {
    /* fall through */
  }
  throw new UserError(`${what}: a value starting with '[' must be a list like [a.mp4, b.mp4]`);
}

/** Splits leftover command-line words into targets and values for the pipeline's declared shorthands. */
export function applyShorthands(words: string[], declared: DeclaredArg[], builtin: string[]): { targets: string[]; sets: Record<string, unknown> } {
  const byFlag = new Map<string, DeclaredArg>();
  for (const arg of declared) for (const flag of arg.flags) byFlag.set(flag, arg);
  const targets: string[] = [];
  const sets: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-') || word === '-') {
      targets.push(word);
      continue;
    }
    const [flag, inline] = word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const arg = byFlag.get(flag!);
    if (!arg) throw new UserError(`unknown option '${flag}'${didYouMean(flag!, [...byFlag.keys(), ...builtin])}`);
    const value = inline ?? words[++i];
    if (value === undefined) throw new UserError(`option '${flag}' needs a value`);
    if (arg.list) sets[arg.var] = [...((sets[arg.var] as string[] | undefined) ?? []), value];
    else sets[arg.var] = value;
  }
  return { targets, sets };
}
