/**
 * Reads the pipeline file as YAML, with the position of every node for located errors. The value usually comes
 * from the fast path (fast-yaml.ts); the positioned Document is then only parsed when something asks where a
 * node is, which is when there is an error to report.
 */
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { PipelineError } from '../util/errors.js';
import { fastYamlValue } from './fast-yaml.js';
import { MAX_SOURCE_BYTES, readRegularFile, UnreadableFileError } from './safe-read.js';

const MAX_ALIAS_COUNT = 1000;

export interface YamlSource {
  file: string;
  text: string;
  /** the Document with positions (parsed on first use when the value came from the fast path) */
  readonly doc: Document;
  readonly lines: LineCounter;
  /** the plain JS value of the document */
  value: unknown;
}

export type YamlPath = readonly (string | number)[];

export function readYamlSource(file: string, displayName = file): YamlSource {
  const text = readUtf8(file, displayName);
  return parseYamlSource(text, displayName);
}

export function parseYamlSource(text: string, file: string): YamlSource {
  rejectControlCharacters(text, file);
  const value = fastYamlValue(text);
  return value === undefined ? parseFully(text, file) : sourceWithValue(text, file, value);
}

/** A source whose value is known (read by the fast path); the Document is parsed from `text` when asked for. */
export function sourceWithValue(text: string, file: string, value: unknown): YamlSource {
  let full: YamlSource | undefined;
  const positioned = () => (full ??= parseFully(text, file));
  return {
    file,
    text,
    value,
    get doc() {
      return positioned().doc;
    },
    get lines() {
      return positioned().lines;
    },
  };
}

/** The yaml package's Document: positions for every node, and the located error of any invalid YAML. */
function parseFully(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  let doc: Document;
  try {
    // the yaml package checks unique keys by comparing each key with all before it (quadratic: seconds on a
    // 10,000-stage file); rejectDuplicateKeys does it with a set
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, strict: true, resolveKnownTags: false });
  } catch (err) {
    throw nestingError(file, err);
  }
  const first = doc.errors[0];
  if (first) {
    // linePos is only filled in with prettyErrors; pos (offsets) always is
    const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
    throw new PipelineError(file, pos?.line, pos?.col, `invalid YAML: ${firstLine(first.message)}`);
  }
  rejectDuplicateKeys(doc, lines, file);
  rejectUnknownTags(doc, lines, file);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof RangeError) throw nestingError(file, err);
    const at = aliasPosition(doc, lines);
    throw new PipelineError(file, at?.line, at?.col, `invalid YAML: ${firstLine((err as Error).message)}`);
  }
  if (isCyclic(value)) {
    const at = recursiveAliasPosition(doc, lines);
    throw new PipelineError(file, at?.line, at?.col, 'invalid YAML: an alias refers to the node that contains it (a recursive structure)');
  }
  return { file, text, doc, lines, value };
}

/** A key given twice in one map is an error at the second one (YAML 1.2 requires unique keys). */
function rejectDuplicateKeys(doc: Document, lines: LineCounter, file: string): void {
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const pos = pair.key.range ? lines.linePos(pair.key.range[0]) : undefined;
        throw new PipelineError(file, pos?.line, pos?.col, `invalid YAML: Map keys must be unique ('${key}' is given twice)`);
      }
      return undefined;
    },
  });
}

/**
 * A tag other than YAML's core ones (`!foo`, `!!binary`, `!!set`) is an error. The yaml package only warns
 * of a tag it cannot resolve and drops it; with resolveKnownTags off, the non-core ones it knows (bytes, sets,
 * timestamps: values no field of a pipeline takes) are reported the same way.
 */
function rejectUnknownTags(doc: Document, lines: LineCounter, file: string): void {
  const unresolved = doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (!unresolved) return;
  const pos = lines.linePos(unresolved.pos[0]);
  const tag = unresolved.message.replace(/^Unresolved tag: /, '').replace(/^tag:yaml\.org,2002:/, '!!');
  throw new PipelineError(file, pos.line, pos.col, `unsupported YAML tag '${tag}': only the core tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are accepted; quote the value if the '!' is part of it`);
}

/** YAML forbids C0 control characters other than tab and line breaks; a NUL would reach a command as garbage. */
function rejectControlCharacters(text: string, file: string): void {
  const at = text.search(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/);
  if (at < 0) return;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n');
  const code = text.charCodeAt(at).toString(16).padStart(4, '0').toUpperCase();
  throw new PipelineError(file, line, col, `invalid YAML: control character U+${code} is not allowed`);
}

/** toJS turns `&x [*x]` into a JS cycle, which every later walk would recurse into forever. */
function isCyclic(value: unknown, onPath = new Set<object>(), done = new Set<object>()): boolean {
  if (value === null || typeof value !== 'object' || done.has(value)) return false;
  if (onPath.has(value)) return true;
  onPath.add(value);
  for (const child of value instanceof Map ? value.values() : Object.values(value)) {
    if (isCyclic(child, onPath, done)) return true;
  }
  onPath.delete(value);
  done.add(value);
  return false;
}

function recursiveAliasPosition(doc: Document, lines: LineCounter): { line: number; col: number } | undefined {
  let found: { line: number; col: number } | undefined;
  visit(doc, {
    Alias(_, alias) {
      const target = alias.resolve(doc);
      if (!found && target?.range && alias.range && target.range[0] <= alias.range[0] && alias.range[0] < target.range[1]) {
        found = lines.linePos(alias.range[0]);
      }
    },
  });
  return found ?? aliasPosition(doc, lines);
}

function readUtf8(file: string, displayName: string): string {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, { maxBytes: MAX_SOURCE_BYTES });
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new PipelineError(displayName, undefined, undefined, err.message);
    throw err;
  }
  return decodeUtf8(bytes, displayName);
}

/** The text of a source file; invalid UTF-8 is an error at the first bad byte. */
export function decodeUtf8(bytes: Buffer, displayName: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const { line, col } = positionOfByte(bytes, at);
    throw new PipelineError(displayName, line, col, `not valid UTF-8 (byte 0x${bytes[at]?.toString(16)} at offset ${at})`);
  }
}

function firstInvalidUtf8(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // binary search the shortest invalid prefix (a prefix cut mid-character is also invalid, so check with stream mode)
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      decoder.decode(bytes.subarray(0, mid + 1), { stream: true });
      decoder.decode();
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

function positionOfByte(bytes: Buffer, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function nestingError(file: string, err: unknown): PipelineError {
  const detail = err instanceof RangeError ? 'the document is nested too deeply' : `invalid YAML: ${firstLine(String(err))}`;
  return new PipelineError(file, undefined, undefined, detail);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function aliasPosition(doc: Document, lines: LineCounter): { line: number; col: number } | undefined {
  const range = doc.contents?.range;
  return range ? lines.linePos(range[0]) : undefined;
}

/** Position of the value at `path` (or of its key when `key` is true), falling back to the nearest parent. */
export function locate(src: YamlSource, path: YamlPath, key = false): { line: number; col: number } | undefined {
  let node: unknown = src.doc.contents;
  let best = rangeOf(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (last && key) return posOf(src, rangeOf(pair.key)) ?? posOf(src, best);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else {
      break;
    }
    best = rangeOf(node) ?? best;
  }
  return posOf(src, best);
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  return (node as Node | undefined)?.range ?? undefined;
}

function posOf(src: YamlSource, range: [number, number, number] | undefined): { line: number; col: number } | undefined {
  return range ? src.lines.linePos(range[0]) : undefined;
}

export function errorAt(src: YamlSource, path: YamlPath, detail: string, key = false): PipelineError {
  const pos = locate(src, path, key);
  return new PipelineError(src.file, pos?.line, pos?.col, detail);
}
