/** Reasons for a changed key, as data: which command, param, env var, dep or upstream stage differs. */
import type { Reason } from '../report/events.js';
import type { KeyParts } from '../state/records.js';
import { RESOURCE_VARIABLES, THREAD_VARIABLES } from '../pipeline/reserved-env.js';
import { stableStringify } from '../util/stable-json.js';
import { isSecretFingerprint } from './environment-key.js';
import { EXECUTABLE_MARK, KEY_FORMAT } from './inputs.js';

const MAX_LISTED = 10;

export function explainChanges(before: KeyParts, now: KeyParts): Reason[] {
  if ((before.format ?? 1) !== (now.format ?? KEY_FORMAT)) return [{ kind: 'key-format', before: String(before.format ?? 1), after: String(now.format ?? KEY_FORMAT) }];
  const reasons: Reason[] = [];
  if (before.cmd !== now.cmd) reasons.push({ kind: 'command', ...values(before.cmd, now.cmd) });
  if (stableStringify(before.outs ?? []) !== stableStringify(now.outs ?? [])) reasons.push({ kind: 'declared-outputs', before: (before.outs ?? []).join(', '), after: (now.outs ?? []).join(', ') });
  if (before.fetch !== now.fetch) reasons.push({ kind: 'fetch-source', ...values(before.fetch, now.fetch) });
  if (before.cwd !== now.cwd) reasons.push({ kind: 'cwd', ...values(before.cwd, now.cwd) });
  if ((before.network ?? true) !== (now.network ?? true)) reasons.push({ kind: 'network', before: now.network === false ? 'on' : 'off', after: now.network === false ? 'off' : 'on' });
  diffMaps(before.params, now.params, (k, a, b) => reasons.push({ kind: 'param', subject: k, before: show(a), after: show(b) }));
  reasons.push(...envChanges(before.env, now.env));
  const deps: Reason[] = [];
  diffMaps(before.deps, now.deps, (k, a, b) => deps.push(depChange(k, a, b)));
  reasons.push(...limit(deps, 'deps'));
  const upstream: Reason[] = [];
  diffMaps(before.upstream, now.upstream, (k, a, b) =>
    upstream.push({ kind: a === undefined ? 'upstream-new' : b === undefined ? 'upstream-removed' : 'upstream-changed', subject: k, ...values(a, b) }));
  reasons.push(...limit(upstream, 'upstream stages'));
  return reasons.length ? reasons : [{ kind: 'key-changed' }];
}

function values(before: unknown, after: unknown): { before?: string; after?: string } {
  return { ...(before === undefined ? {} : { before: String(before) }), ...(after === undefined ? {} : { after: String(after) }) };
}

/**
 * A changed `resources:` declaration is named as such (`resources.cpu changed: 1 -> 4`), and the thread counts
 * that only followed PIPE_CPUS are not listed again one by one.
 */
function envChanges(before: Record<string, string>, now: Record<string, string>): Reason[] {
  const reasons: Reason[] = [];
  const followedCpus = (name: string) => (THREAD_VARIABLES as readonly string[]).includes(name)
    && before?.[name] === before?.PIPE_CPUS && now?.[name] === now?.PIPE_CPUS;
  diffMaps(before, now, (k, a, b) => {
    const declaration = RESOURCE_VARIABLES[k as keyof typeof RESOURCE_VARIABLES];
    if (declaration) reasons.push({ kind: 'resources', subject: declaration, before: String(a ?? '(unset)'), after: String(b ?? '(unset)'), detail: k });
    else if (!followedCpus(k)) reasons.push(envChange(k, a, b));
  });
  return reasons;
}

function envChange(name: string, before: unknown, now: unknown): Reason {
  if (isSecretFingerprint(before) || isSecretFingerprint(now)) return { kind: 'env', subject: name };
  return { kind: 'env', subject: name, before: show(before), after: show(now) };
}

/** `tool.sh changed`, `tool.sh became executable`, ... for one dep (a file dep's value ends in +x when executable). */
export function depChange(path: string, before: unknown, now: unknown): Reason {
  if (before === undefined) return { kind: 'dep-new', subject: path, ...values(undefined, now) };
  if (now === undefined) return { kind: 'dep-removed', subject: path, ...values(before, undefined) };
  if (now === 'missing') return { kind: 'dep-missing', subject: path, ...values(before, now) };
  const [hashBefore, execBefore] = splitExec(String(before));
  const [hashNow, execNow] = splitExec(String(now));
  const exec = execBefore === execNow ? undefined : execNow ? 'became executable' : 'is no longer executable';
  if (hashBefore === hashNow) return { kind: 'dep-exec', subject: path, detail: exec, ...values(before, now) };
  return { kind: 'dep-changed', subject: path, ...(exec ? { detail: exec } : {}), ...values(before, now) };
}

function splitExec(value: string): [hash: string, executable: boolean] {
  return value.endsWith(EXECUTABLE_MARK) ? [value.slice(0, -EXECUTABLE_MARK.length), true] : [value, false];
}

function diffMaps(a: Record<string, unknown>, b: Record<string, unknown>, report: (key: string, before: unknown, now: unknown) => void): void {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  for (const key of [...keys].sort()) {
    const x = a?.[key];
    const y = b?.[key];
    if (stableStringify(x) !== stableStringify(y)) report(key, x, y);
  }
}

function limit(items: Reason[], what: string): Reason[] {
  if (items.length <= MAX_LISTED) return items;
  return [...items.slice(0, MAX_LISTED), { kind: 'more', subject: what, after: String(items.length - MAX_LISTED) }];
}

function show(value: unknown): string {
  if (value === undefined) return '(unset)';
  const text = typeof value === 'string' ? `'${value}'` : stableStringify(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
