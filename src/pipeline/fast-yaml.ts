/**
 * The fast path of reading a pipeline file: js-yaml builds the plain value about 5× faster than the yaml
 * package builds its Document (which keeps every node's position, and costs 1.3 GB on a 100,000-stage file).
 *
 * It gives an answer only when that answer is certainly the one the yaml package (YAML 1.2 core schema, as
 * source.ts reads it) would give; otherwise undefined, and the caller takes the full path. So it declines:
 * any syntax error (the full path reports it, located), anchors and aliases, explicit tags, directives, collections or explicit `?` keys (stringified differently), and
 * null keys (the yaml package turns `null:` into the key '').
 */
import jsyaml, { type Type } from 'js-yaml';

const PRIVATE_TAG = 'tag:pipe.fast,2026:';
/** a plain null was read: only then can a key be one (and the value is walked to find out) */
let sawNull = false;

/** The yaml package's core schema resolvers (yaml/dist/schema/core), under private tags so `!!int` is not one of them. */
const coreScalars = [
  scalarType('null', /^(?:~|[Nn]ull|NULL)?$/, () => ((sawNull = true), null)),
  scalarType('bool', /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T'),
  scalarType('int-oct', /^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)),
  scalarType('int', /^[-+]?[0-9]+$/, (s) => parseInt(s, 10)),
  scalarType('int-hex', /^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)),
  scalarType('float-nan', /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)),
  scalarType('float-exp', /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (s) => parseFloat(s)),
  scalarType('float', /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (s) => parseFloat(s)),
];

const schema = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: coreScalars });

/** Constructs the fast path cannot vouch for, found in the text (a false alarm only costs the slow path). */
const DECLINED = [
  /^%/m, // a directive (%YAML 1.1 changes the schema)
  /[\]}][ \t]*:(?:[ \t]|$)/m, // a flow collection as a key
  /(?:^|[\s[{,])\?(?:[ \t]|$)/m, // an explicit key
];

function scalarType(name: string, test: RegExp, construct: (s: string) => unknown): Type {
  return new jsyaml.Type(`${PRIVATE_TAG}${name}`, {
    kind: 'scalar',
    resolve: (data) => test.test(data ?? ''),
    construct: (data) => construct(data ?? ''),
  });
}

/** The document's value, or undefined when the full parser must read it. */
export function fastYamlValue(text: string): unknown {
  if (DECLINED.some((re) => re.test(text))) return undefined;
  let anchors: Record<string, unknown> | undefined;
  let tagged = false;
  let value: unknown;
  sawNull = false;
  try {
    value = jsyaml.load(text, {
      schema,
      listener: (event, state) => {
        anchors ??= state.anchorMap;
        // at its close a node's tag is null (a collection), '?' (a plain string), one of ours (resolved), or written
        if (event === 'close' && state.tag !== null && state.tag !== '?' && !state.tag.startsWith(PRIVATE_TAG)) tagged = true;
      },
    });
  } catch {
    return undefined;
  }
  if (tagged || (anchors && Object.keys(anchors).length > 0) || value === undefined) return undefined;
  return sawNull && hasNullKey(value) ? undefined : value;
}

/** A key written `null` or `~` (js-yaml makes it 'null', the yaml package ''); looked for with a stack, not recursion. */
function hasNullKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    for (const key in value) {
      if (key === 'null') return true;
      const child = (value as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return false;
}
