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

/** At most this many bytes in one interpolated string: `a: ${b}${b}`, `b: ${c}${c}` ... doubles per level. */
export const MAX_INTERPOLATED_BYTES = 1024 * 1024;
/** At most this many bytes of interpolated text (and of values placed by `${name}`) in a whole pipeline. */
export const MAX_EXPANSION_BYTES = 128 * 1024 * 1024;

/** Interpolation would build more than the limits allow; checked before the text is built. */
export class ExpansionLimitError extends InterpolationError {}

/** What one load has expanded so far, so that no mix of vars, foreach and lists can exhaust memory. */
export class ExpansionBudget {
  private used = 0;
  private readonly sizes = new WeakMap<object, number>();

  constructor(private readonly limit = MAX_EXPANSION_BYTES) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) {
      throw new ExpansionLimitError(
        `interpolation expands the pipeline to more than ${megabytes(this.limit)} in all (vars referring to each other, ` +
          'foreach jobs and lists multiply); this is the limit',
      );
    }
  }

  /** The size a value has once written out: a list placed twice counts twice, however it is shared in memory. */
  sizeOf(value: unknown): number {
    if (typeof value === 'string') return value.length;
    if (value === null || typeof value !== 'object') return String(value).length;
    const known = this.sizes.get(value);
    if (known !== undefined) return known;
    this.sizes.set(value, 0); // never cyclic (the YAML reader refuses that), but never loop either
    let size = 0;
    for (const [key, inner] of Object.entries(value)) {
      size += key.length + 2 + this.sizeOf(inner);
      if (size > this.limit) break; // enough to refuse it; no need to walk the rest
    }
    this.sizes.set(value, size);
    return size;
  }
}

export interface InterpolateOptions {
  shell?: boolean;
  budget?: ExpansionBudget;
}

/** A string split once into its literal text and its references (a foreach uses one string for every job). */
type Part = { literal: string } | { ref: string; quoting: ShellQuoting };

/** Keyed by the text itself: a key built per call (`s` + text) would be a new string to hash every time. */
const parsedTemplates = { shell: new Map<string, Part[]>(), plain: new Map<string, Part[]>() };
const MAX_PARSED_TEMPLATES = 10_000;

function parseTemplate(text: string, shell: boolean): Part[] {
  const cache = shell ? parsedTemplates.shell : parsedTemplates.plain;
  const cached = cache.get(text);
  if (cached) return cached;
  if (text.replace(REFERENCE, '').includes('${')) {
    throw new InterpolationError(`unterminated '\${' in '${text}' (write $\${ for a literal \${)`);
  }
  const parts: Part[] = [];
  let literal = '';
  let quoting: ShellQuoting = 'none';
  let consumed = 0;
  for (const match of text.matchAll(REFERENCE)) {
    const before = text.slice(consumed, match.index);
    if (shell) quoting = quotingAfter(before, quoting);
    consumed = match.index + match[0].length;
    literal += before;
    if (match[1] === undefined) {
      literal += '${';
      continue;
    }
    parts.push({ literal }, { ref: match[1], quoting });
    literal = '';
  }
  parts.push({ literal: literal + text.slice(consumed) });
  if (cache.size >= MAX_PARSED_TEMPLATES) cache.clear();
  cache.set(text, parts);
  return parts;
}

/** Replaces every ${ref}; `$${` stands for a literal `${`. */
export function interpolateString(text: string, lookup: Lookup, opts: InterpolateOptions = {}): string {
  if (!text.includes('${')) return text;
  const pieces: string[] = [];
  let length = 0;
  for (const part of parseTemplate(text, !!opts.shell)) {
    if ('literal' in part) {
      pieces.push(part.literal);
      length += part.literal.length;
      continue;
    }
    const value = resolve(part.ref, lookup);
    length += textLength(value);
    if (length > MAX_INTERPOLATED_BYTES) throw tooLong(part.ref, length);
    const piece = opts.shell ? toShellWords(value, part.ref, part.quoting) : toText(value, part.ref);
    pieces.push(piece);
    length += piece.length - textLength(value); // quoting adds a little
  }
  if (length > MAX_INTERPOLATED_BYTES) throw tooLong(undefined, length);
  opts.budget?.charge(length);
  return pieces.join('');
}

function tooLong(ref: string | undefined, length: number): ExpansionLimitError {
  const at = ref === undefined ? '' : ` at '\${${ref}}'`;
  return new ExpansionLimitError(
    `interpolation expands this string to more than ${megabytes(MAX_INTERPOLATED_BYTES)} (${length} bytes${at}); ` +
      'vars that refer to other vars several times grow exponentially',
  );
}

function megabytes(bytes: number): string {
  return `${bytes / (1024 * 1024)} MB`;
}

/** The length `toText` would give, without building the text. */
function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) {
    let length = 0;
    for (const v of value) {
      if (v !== null && typeof v === 'object') return 0; // not placeable in a string: toText says so
      length += textLength(v) + 1;
    }
    return length;
  }
  if (value === null || value === undefined || typeof value === 'object') return 0;
  return String(value).length;
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
export function interpolateValue(text: string, lookup: Lookup, opts: InterpolateOptions = {}): unknown {
  const whole = WHOLE_REFERENCE.exec(text);
  if (!whole) return interpolateString(text, lookup, opts);
  const value = resolve(whole[1]!, lookup);
  opts.budget?.charge(opts.budget.sizeOf(value));
  return value;
}

/** For list positions (argv, deps, outs): an element that is exactly `${list}` becomes several elements. */
export function interpolateList(items: readonly string[], lookup: Lookup, opts: InterpolateOptions = {}): string[] {
  return items.flatMap((item) => {
    const value = interpolateValue(item, lookup, opts);
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
    if (!path.includes('.')) {
      const scope = scopes.find((s) => Object.prototype.hasOwnProperty.call(s, path));
      if (scope) return { found: true, value: scope[path] };
    }
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
