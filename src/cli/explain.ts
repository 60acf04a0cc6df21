/** pipe explain STAGE: every part of the stage's key, now against its last run, and the verdict. */
import { openEngine } from '../plan/context.js';
import { EXECUTABLE_MARK, stageInputs } from '../plan/inputs.js';
import { depChange } from '../plan/reasons.js';
import { reasonText } from '../report/reason-text.js';
import { isSecretName } from '../exec/environment.js';
import { stableStringify } from '../util/stable-json.js';
import type { GlobalOptions } from './options.js';
import type { KeyParts } from '../state/records.js';
import { oneStage, openWithShorthands, selectStages } from './session.js';
import { stageStates } from './states.js';

interface Row {
  part: string;
  name: string;
  before: string;
  now: string;
  changed: boolean;
}

export async function explainCommand(words: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const { project, targets } = await openWithShorthands(globals, opts.set, words);
  const name = oneStage(project, targets, 'explain');
  const stage = project.stages.get(name)!;
  const states = await stageStates(project, selectStages(project, [name]));
  const verdict = states.find((s) => s.name === name)!;
  const engine = openEngine(project);
  const record = engine.records.stage(name);
  const upstream = Object.fromEntries((project.graph.upstream[name] ?? []).map((u) => [u, engine.records.stage(u)?.outputHash ?? '(never run)']));
  const fetchIdentity = stage.fetch ? (await import('../fetch/index.js')).fetchIdentity(stage.fetch) : undefined;
  const now = (await stageInputs(engine, stage, upstream, fetchIdentity)).parts;
  const before = record?.parts;
  const rows: Row[] = [];
  const add = (part: string, key: string, a: unknown, b: unknown, secret = false) => {
    const show = (v: unknown) => (v === undefined ? '-' : secret ? '<redacted>' : typeof v === 'string' ? v : stableStringify(v));
    rows.push({ part, name: key, before: before ? show(a) : '-', now: show(b), changed: !before || stableStringify(a) !== stableStringify(b) });
  };
  if (before && (before.format ?? 1) !== now.format) add('key format', '', String(before.format ?? 1), String(now.format));
  add('command', '', before?.cmd, now.cmd);
  if (now.fetch || before?.fetch) add('fetch', '', before?.fetch, now.fetch);
  add('declared outputs', '', before?.outs?.join(', '), now.outs?.join(', '));
  if (now.cwd !== undefined || before?.cwd !== undefined) add('working folder', '', before?.cwd, now.cwd);
  if (now.network === false || before?.network === false) add('network', '', networkOf(before), networkOf(now));
  for (const k of keys(before?.params, now.params)) add('param', k, before?.params[k], now.params[k]);
  for (const k of keys(before?.env, now.env)) add('env', k, before?.env[k], now.env[k], isSecretName(k));
  for (const k of keys(before?.deps, now.deps)) add('dep', k, depShown(before?.deps[k]), depShown(now.deps[k]));
  for (const k of keys(before?.upstream, now.upstream)) add('upstream', k, before?.upstream[k], now.upstream[k]);
  const result = { stage: name, state: verdict.state, reasons: verdict.reasons, lastRun: record ? { at: record.at, ms: record.ms } : null, parts: rows };
  if (globals.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const lines = [
    `${name}: ${verdict.state}${verdict.state === 'fresh' ? '' : ` — ${verdict.reasons.join('; ')}`}`,
    record ? `last run ${record.at} (${record.ms} ms)` : 'never run',
    ...rows.map((r) => `  ${r.changed ? '≠' : '='} ${r.part}${r.name ? ` ${r.name}` : ''}: ${r.changed && before ? changeShown(r, before, now) : short(r.now)}`),
  ];
  if (record) lines.push(...record.outs.map((o) => `  out ${o.path}: ${o.kind} ${short(o.hash)} (${o.size} bytes)`));
  process.stdout.write(lines.join('\n') + '\n');
}

/** A dep's row says in words what changed of it (content, exec bit), with the hashes when the content did. */
function changeShown(r: Row, before: KeyParts, now: KeyParts): string {
  const values = changedText(r.before, r.now);
  if (r.part !== 'dep') return values;
  const words = reasonText(depChange(r.name, before.deps[r.name], now.deps[r.name])).replace(`dep ${r.name} `, '');
  return /changed|missing|new|removed/.test(words) ? `${words}: ${values}` : words;
}

function depShown(value: string | undefined): string | undefined {
  return value?.endsWith(EXECUTABLE_MARK) ? `${value.slice(0, -EXECUTABLE_MARK.length)} (executable)` : value;
}

function networkOf(parts: KeyParts | undefined): string | undefined {
  if (!parts) return undefined;
  return parts.network === false ? 'none (network: false)' : 'allowed';
}

function keys(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): string[] {
  return [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
}

const SHOWN = 100;

function short(text: string): string {
  return text.length > SHOWN ? text.slice(0, SHOWN - 1) + '…' : text;
}

/** 'before -> now', where long values are cut to the same window around their first difference. */
function changedText(before: string, now: string): string {
  const [a, b] = aroundFirstDifference(before, now);
  return `${a} -> ${b}`;
}

/** Both sides cut to at most `width` characters starting a little before where they first differ, with … marks. */
export function aroundFirstDifference(a: string, b: string, width = SHOWN, lead = 30): [string, string] {
  if (a.length <= width && b.length <= width) return [a, b];
  let first = 0;
  while (first < a.length && first < b.length && a[first] === b[first]) first++;
  const start = first <= lead ? 0 : first - lead;
  const cut = (s: string) => `${start > 0 ? '…' : ''}${s.slice(start, start + width)}${start + width < s.length ? '…' : ''}`;
  return [cut(a), cut(b)];
}
