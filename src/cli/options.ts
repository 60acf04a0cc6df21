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

/**
 * KEY=VALUE, where KEY is a var or a path inside one (`p.train.n_est`). A value in [brackets] is a YAML list
 * (of strings, as paths are), one in {braces} a YAML mapping; anything else is text, which the loader turns
 * into a number or a boolean where the declared value is one.
 */
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
  const opener = text.trimStart()[0];
  if (opener !== '[' && opener !== '{') return text;
  const expected = opener === '[' ? 'a list like [a.mp4, b.mp4]' : 'a mapping like {a: 1, b: x}';
  let value: unknown;
  try {
    value = (await yamlParser())(text);
  } catch (err) {
    throw new UserError(`${what}: a value starting with '${opener}' must be ${expected}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (opener === '[' && Array.isArray(value)) return value.map((v) => (isScalar(v) ? String(v) : v));
  if (opener === '{' && value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  throw new UserError(`${what}: a value starting with '${opener}' must be ${expected}`);
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * `yaml` is CommonJS for Node: unbundled, `import('yaml')` has named exports, but in the esbuild bundle it
 * has only a default one. Take `parse` from wherever it is.
 */
async function yamlParser(): Promise<(text: string) => unknown> {
  const mod = (await import('yaml')) as unknown as { parse?: (t: string) => unknown; default?: { parse: (t: string) => unknown } };
  return mod.parse ?? mod.default!.parse;
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
