/** `${name}` interpolation. In shell command strings every interpolated value is quoted as one word. */

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const WHOLE_REFERENCE = /^\$\{([^}]+)\}$/;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const SHELL_SAFE = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;

export class InterpolationError extends Error {}

export type Lookup = (path: string) => { found: true; value: unknown } | { found: false; known: string[] };

export function shellQuote(word: string): string {
  if (word !== '' && SHELL_SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function hasReference(text: string): boolean {
  return text.includes('${');
}

/** Replaces every ${ref}; `$${` stands for a literal `${`. */
export function interpolateString(text: string, lookup: Lookup, opts: { shell?: boolean } = {}): string {
  if (!text.includes('${')) return text;
  if (text.replace(REFERENCE, '').includes('${')) {
    throw new InterpolationError(`unterminated '\${' in '${text}' (write $\${ for a literal \${)`);
  }
  let quoting: ShellQuoting = 'none';
  let consumed = 0;
  return text.replace(REFERENCE, (match, ref: string | undefined, offset: number) => {
    if (opts.shell) quoting = quotingAfter(text.slice(consumed, offset), quoting);
    consumed = offset + match.length;
    if (ref === undefined) return '${';
    const value = resolve(ref, lookup);
    return opts.shell ? toShellWords(value, ref, quoting) : toText(value, ref);
  });
}

/** Where a reference sits in a shell command: bare, inside '...' or inside "...". */
type ShellQuoting = 'none' | 'single' | 'double';

function quotingAfter(literal: string, start: ShellQuoting): ShellQuoting {
  let state = start;
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i];
    if (state === 'single') {
      if (c === "'") state = 'none';
    } else if (c === '\\') {
      i++;
    } else if (c === '"') {
      state = state === 'double' ? 'none' : 'double';
    } else if (c === "'" && state === 'none') {
      state = 'single';
    }
  }
  return state;
}

/** A string that is exactly one reference keeps the referenced value's type (list, map, number). */
export function interpolateValue(text: string, lookup: Lookup): unknown {
  const whole = WHOLE_REFERENCE.exec(text);
  if (whole) return resolve(whole[1]!, lookup);
  return interpolateString(text, lookup);
}

/** For list positions (argv, deps, outs): an element that is exactly `${list}` becomes several elements. */
export function interpolateList(items: readonly string[], lookup: Lookup): string[] {
  return items.flatMap((item) => {
    const value = interpolateValue(item, lookup);
    if (Array.isArray(value)) return value.map((v) => toText(v, item));
    return [toText(value, item)];
  });
}

function resolve(ref: string, lookup: Lookup): unknown {
  const path = ref.trim();
  if (!PATH.test(path)) throw new InterpolationError(`'\${${ref}}' is not a valid reference (use \${name} or \${name.key})`);
  const result = lookup(path);
  if (result.found) return result.value;
  const hint = result.known.length ? `; known: ${result.known.slice(0, 12).join(', ')}` : '';
  throw new InterpolationError(`unknown var '${path}'${hint}`);
}

function toText(value: unknown, ref: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.map(String).join(' ');
  if (value === null || value === undefined) return '';
  throw new InterpolationError(`'${ref}' is a map and cannot be placed inside a string`);
}

/** Bare: each value one quoted word. Inside quotes the user already made one word: escape what the quotes would not keep literal. */
function toShellWords(value: unknown, ref: string, quoting: ShellQuoting = 'none'): string {
  if (quoting === 'double') return toText(value, ref).replace(/[\\"$`]/g, '\\$&');
  if (quoting === 'single') return toText(value, ref).replace(/'/g, `'\\''`);
  if (Array.isArray(value)) return value.map((v) => shellQuote(toText(v, ref))).join(' ');
  return shellQuote(toText(value, ref));
}

/** Looks a dotted path up in nested maps; a key may itself contain dots (`models.nllb-200-3.3b.fetch`). */
export function lookupIn(scopes: Record<string, unknown>[]): Lookup {
  return (path) => {
    const segments = path.split('.');
    for (const scope of scopes) {
      const found = walk(scope, segments);
      if (found.found) return found;
      if (found.known !== undefined) return { found: false, known: found.known };
    }
    return { found: false, known: scopes.flatMap((s) => Object.keys(s)) };
  };
}

type Walk = { found: true; value: unknown } | { found: false; known?: string[] };

/** Longest key first at each level; `known` is set once the first segment matched (the error is inside it). */
function walk(value: unknown, segments: string[], depth = 0): Walk {
  if (segments.length === 0) return { found: true, value };
  if (value === null || typeof value !== 'object') return { found: false, known: depth ? [] : undefined };
  const map = value as Record<string, unknown>;
  for (let take = segments.length; take >= 1; take--) {
    const key = segments.slice(0, take).join('.');
    if (!Object.prototype.hasOwnProperty.call(map, key)) continue;
    const inner = walk(map[key], segments.slice(take), depth + 1);
    if (inner.found) return inner;
  }
  return { found: false, known: depth ? Object.keys(map) : undefined };
}
