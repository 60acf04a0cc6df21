/** Checks the raw document against the schema and turns every zod issue into a located error. */
import type { z } from 'zod';
import { PipelineError, PipelineErrors } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { setOwn } from '../util/own-key.js';
import { pipelineSchema, type RawPipeline } from './schema.js';
import { errorAt, type YamlSource } from './source.js';

const MAX_REPORTED = 20;

/** `only`: the stages whose definitions to check (an incremental compile names the changed ones); all when undefined. */
export function validateSchema(src: YamlSource, only?: readonly string[]): RawPipeline {
  if (src.value === null || typeof src.value !== 'object' || Array.isArray(src.value)) {
    throw errorAt(src, [], 'the pipeline file must be a YAML map with `version: 1` and `stages:`');
  }
  const result = pipelineSchema.safeParse(withStages(src.value as Record<string, unknown>, only), { reportInput: true }); // without it every wrong type reads as missing
  // the schema only checks (no defaults, no transforms), and zod rebuilds records by assignment, which
  // drops a key named __proto__: the parsed document itself is the checked value
  if (result.success) return src.value as RawPipeline;
  const errors = result.error.issues.slice(0, MAX_REPORTED).map((issue) => issueToError(src, issue));
  throw errors.length === 1 ? errors[0]! : new PipelineErrors(errors);
}

function withStages(value: Record<string, unknown>, only: readonly string[] | undefined): unknown {
  const stages = value.stages;
  if (!only || stages === null || typeof stages !== 'object' || Array.isArray(stages)) return value;
  const checked: Record<string, unknown> = {};
  for (const name of only) if (Object.hasOwn(stages, name)) setOwn(checked, name, (stages as Record<string, unknown>)[name]);
  return { ...value, stages: checked };
}

function issueToError(src: YamlSource, issue: z.core.$ZodIssue): PipelineError {
  const inner = issue.code === 'invalid_union' ? matchingBranchIssue(issue) : undefined;
  if (inner) return issueToError(src, { ...inner, path: [...issue.path, ...inner.path] });
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const where = describePath(path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = knownKeys(path);
    return errorAt(src, [...path, key], `unknown key '${key}'${where ? ` in ${where}` : ''}${didYouMean(key, known)}`, true);
  }
  return errorAt(src, path, `${where || 'document'}: ${issueMessage(issue)}`);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return `expected ${issue.expected}${issue.input === undefined ? ' (missing)' : `, got ${kindOf(issue.input)}`}`;
  }
  // a union that says what it accepts (schema.ts gives it an `error`) is clearer than its branches' messages
  if (issue.code === 'invalid_union') return issue.message !== 'Invalid input' ? issue.message : 'not any of the accepted forms' + unionHint(issue);
  // a record's key that fails its pattern: the pattern's own message says what a key must be
  if (issue.code === 'invalid_key' && issue.issues[0]) return `not a valid name: ${issue.issues[0].message}`;
  if (issue.code === 'invalid_value' && issue.values.length === 1 && issue.path[0] === 'version') return 'only `version: 1` is supported';
  if (issue.code === 'invalid_value' && issue.values.every((v) => typeof v === 'string')) {
    const values = issue.values as string[];
    const given = typeof issue.input === 'string' ? didYouMean(issue.input, values) : '';
    return `expected one of ${values.join(', ')}${typeof issue.input === 'string' ? `, got '${issue.input}'` : ''}${given}`;
  }
  return issue.message;
}

/**
 * When the value has the shape of exactly one of a union's forms (a map where a list or a map is accepted),
 * that form's problem is the one to report, e.g. an unknown key with its "did you mean".
 */
function matchingBranchIssue(issue: z.core.$ZodIssue & { code: 'invalid_union' }): z.core.$ZodIssue | undefined {
  const wrongShape = (issues: z.core.$ZodIssue[]) => issues.some((i) => i.path.length === 0 && i.code === 'invalid_type');
  const matching = issue.errors.filter((issues) => issues.length > 0 && !wrongShape(issues));
  if (matching.length !== 1) return undefined;
  const issues = matching[0]!;
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
}

function unionHint(issue: z.core.$ZodIssue & { code: 'invalid_union' }): string {
  const messages = issue.errors.flat().map((e) => e.message);
  return messages.length ? ` (${[...new Set(messages)].slice(0, 3).join('; ')})` : '';
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : typeof value;
}

function describePath(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

/** The keys that are valid at the map found at `path`, for suggestions. */
function knownKeys(path: (string | number)[]): string[] {
  let schema: unknown = pipelineSchema;
  for (const segment of path) {
    schema = childSchema(schema, segment);
    if (!schema) return [];
  }
  const s = unwrap(schema) as { shape?: Record<string, unknown>; def?: { options?: unknown[] } };
  const shapes = s.shape ? [s.shape] : (s.def?.options ?? []).map((o) => (unwrap(o) as { shape?: Record<string, unknown> }).shape ?? {});
  return shapes.flatMap((shape) => Object.keys(shape));
}

function childSchema(schema: unknown, segment: string | number): unknown {
  const s = unwrap(schema) as { shape?: Record<string, unknown>; def?: { valueType?: unknown; element?: unknown } };
  if (s.shape) return s.shape[String(segment)];
  if (s.def?.valueType) return s.def.valueType;
  if (s.def?.element) return s.def.element;
  return undefined;
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { innerType?: unknown; type?: string } };
  while (s?.def?.innerType) s = s.def.innerType as typeof s;
  return s;
}
