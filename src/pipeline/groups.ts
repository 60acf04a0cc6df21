/**
 * `groups:` → name → members. A group is a list of members, or `{desc, foreach, members}`; with `foreach` it
 * is declared once per item of a var, and a `${ref}` in its name that is a list declares it once per element
 * (`cache:${item.profiles}` puts an item into cache:cuda and cache:cpu). Every declaration naming the same
 * group adds to it. Members must name stages, templates, groups or globs.
 */
import type { PipelineError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { InterpolationError, interpolateList, interpolateString, lookupIn, type Lookup } from './interpolate.js';
import { foreachItems, hasGlobItems, ItemsError } from './items.js';
import { isGlob } from './paths.js';
import { STAGE_NAME, type RawGroup, type RawPipeline } from './schema.js';
import { errorAt, type YamlPath, type YamlSource } from './source.js';

export interface GroupsInput {
  src: YamlSource;
  root: string;
  raw: RawPipeline['groups'];
  vars: Record<string, unknown>;
  /** every declared stage template (enabled or not) and every expanded stage name */
  stageNames: Iterable<string>;
  errors: PipelineError[];
}

export interface Groups {
  groups: Record<string, string[]>;
  descs: Record<string, string>;
  /** a foreach expanded a glob: the groups depend on which files exist */
  globbed: boolean;
}

interface Member {
  name: string;
  at: YamlPath;
  /** which declaration produced it, for messages */
  origin: string;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

export function resolveGroups(input: GroupsInput): Groups {
  const members = new Map<string, Member[]>();
  const descs: Record<string, string> = {};
  let globbed = false;
  for (const [key, value] of Object.entries(input.raw ?? {})) {
    const group: RawGroup = Array.isArray(value) ? { members: value } : value;
    const at: YamlPath = ['groups', key];
    const membersAt: YamlPath = Array.isArray(value) ? at : [...at, 'members'];
    const scopes = foreachScopes(input, key, group);
    globbed ||= group.foreach !== undefined && hasGlobItems(input.vars[group.foreach]);
    for (const scope of scopes) {
      const lookup = lookupIn([scope.bindings, input.vars]);
      for (const { name, lookup: bound } of guard(input, at, () => expandName(key, lookup), [], true)) {
        if (!STAGE_NAME.test(name)) {
          input.errors.push(errorAt(input.src, at, `group name '${name}'${scope.label} is not a name of letters, digits, _ . - : @`, true));
          continue;
        }
        const list = members.get(name) ?? [];
        members.set(name, list);
        if (group.desc !== undefined && descs[name] === undefined) {
          descs[name] = guard(input, [...at, 'desc'], () => interpolateString(group.desc!, bound), group.desc);
        }
        group.members.forEach((member, i) => {
          const names = guard(input, [...membersAt, i], () => interpolateList([member], bound), []);
          for (const m of names) list.push({ name: m, at: [...membersAt, i], origin: key === name ? '' : ` (group '${key}'${scope.label})` });
        });
      }
    }
  }
  checkMembers(input, members);
  const groups = Object.fromEntries([...members].map(([name, list]) => [name, [...new Set(list.map((m) => m.name))]]));
  return { groups, descs, globbed };
}

interface Scope {
  bindings: Record<string, unknown>;
  /** " for key 'x'" in messages */
  label: string;
}

/** No foreach: one declaration. Over a map: `${key}`, `${item}` per entry; over a list, path or glob: `${item}`, `${job}`. */
function foreachScopes(input: GroupsInput, key: string, group: RawGroup): Scope[] {
  if (group.foreach === undefined) return [{ bindings: {}, label: '' }];
  const at: YamlPath = ['groups', key, 'foreach'];
  if (!Object.hasOwn(input.vars, group.foreach)) {
    input.errors.push(errorAt(input.src, at, `unknown var '${group.foreach}'${didYouMean(group.foreach, Object.keys(input.vars))}`));
    return [];
  }
  const value = input.vars[group.foreach];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).map(([k, item]) => ({ bindings: { key: k, item }, label: ` for ${group.foreach}.${k}` }));
  }
  try {
    return foreachItems(input.root, value, group.foreach).map(({ item, job }) => ({ bindings: { item, job }, label: ` for '${typeof item === 'string' ? item : job}'` }));
  } catch (err) {
    if (!(err instanceof ItemsError)) throw err;
    input.errors.push(errorAt(input.src, at, err.message.replace('a path, a glob or a list of them', 'a map, a list, a path or a glob')));
    return [];
  }
}

/**
 * The names a group key declares: one, or one per element of each list its references hold (the cross
 * product when several do). Each name comes with a lookup in which those references are the chosen element,
 * so the desc and members can use them too.
 */
export function expandName(template: string, lookup: Lookup): { name: string; lookup: Lookup }[] {
  let combinations: Record<string, unknown>[] = [{}];
  for (const ref of referencesIn(template)) {
    const found = lookup(ref);
    if (!found.found || !Array.isArray(found.value)) continue;
    const elements = found.value;
    combinations = combinations.flatMap((c) => elements.map((e) => ({ ...c, [ref]: e })));
  }
  return combinations.map((chosen) => {
    const bound: Lookup = (p) => (Object.prototype.hasOwnProperty.call(chosen, p) ? { found: true, value: chosen[p] } : lookup(p));
    return { name: interpolateString(template, bound), lookup: bound };
  });
}

function referencesIn(text: string): string[] {
  const refs = new Set<string>();
  for (const match of text.matchAll(REFERENCE)) if (match[1] !== undefined) refs.add(match[1].trim());
  return [...refs];
}

function checkMembers(input: GroupsInput, members: Map<string, Member[]>): void {
  if ([...members.values()].every((list) => list.length === 0)) return; // no set of every stage name (100,000 of them) for nothing
  const known = new Set([...input.stageNames, ...members.keys()]);
  const reported = new Set<string>();
  for (const list of members.values()) {
    for (const member of list) {
      if (known.has(member.name) || isGlob(member.name)) continue;
      const where = `${member.at.join('.')}:${member.name}`;
      if (reported.has(where)) continue;
      reported.add(where);
      input.errors.push(errorAt(input.src, member.at, `unknown stage or group '${member.name}'${member.origin}${didYouMean(member.name, known)}`));
    }
  }
}

/** `key`: the problem is in the group's name, so point at the key rather than at its value. */
function guard<T>(input: GroupsInput, at: YamlPath, fn: () => T, fallback: T, key = false): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof InterpolationError)) throw err;
    const error = errorAt(input.src, at, err.message, key);
    // a declaration repeated per item would otherwise report the same problem once per item
    if (!input.errors.some((e) => e.message === error.message)) input.errors.push(error);
    return fallback;
  }
}
