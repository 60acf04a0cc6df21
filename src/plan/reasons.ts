/** Human reasons for a changed key: which command, param, env var, dep or upstream stage differs. */
import type { KeyParts } from '../state/records.js';
import { RESOURCE_VARIABLES, THREAD_VARIABLES } from '../pipeline/reserved-env.js';
import { stableStringify } from '../util/stable-json.js';
import { isSecretFingerprint } from './environment-key.js';
import { EXECUTABLE_MARK, KEY_FORMAT } from './inputs.js';

const MAX_LISTED = 10;

export function explainChanges(before: KeyParts, now: KeyParts): string[] {
  if ((before.format ?? 1) !== (now.format ?? KEY_FORMAT)) return [formatChange()];
  const reasons: string[] = [];
  if (before.cmd !== now.cmd) reasons.push('command changed');
  if (stableStringify(before.outs ?? []) !== stableStringify(now.outs ?? [])) reasons.push('declared outputs changed');
  if (before.fetch !== now.fetch) reasons.push(`fetch source changed: ${before.fetch ?? '(none)'} -> ${now.fetch ?? '(none)'}`);
  if (before.cwd !== now.cwd) reasons.push(`working folder changed: ${before.cwd ?? '(project root)'} -> ${now.cwd ?? '(project root)'}`);
  if ((before.network ?? true) !== (now.network ?? true)) reasons.push(now.network === false ? 'network access removed (network: false)' : 'network access allowed again');
  diffMaps(before.params, now.params, (k, a, b) => reasons.push(`param ${k} changed: ${show(a)} -> ${show(b)}`));
  reasons.push(...envChanges(before.env, now.env));
  const deps: string[] = [];
  diffMaps(before.deps, now.deps, (k, a, b) => deps.push(depChange(k, a, b)));
  reasons.push(...limit(deps, 'deps'));
  const upstream: string[] = [];
  diffMaps(before.upstream, now.upstream, (k, a, b) =>
    upstream.push(a === undefined ? `new upstream stage ${k}` : b === undefined ? `upstream stage ${k} removed` : `upstream stage ${k} produced new outputs`));
  reasons.push(...limit(upstream, 'upstream stages'));
  return reasons.length ? reasons : ['the key changed (pipe version or format)'];
}

function formatChange(): string {
  return 'recorded by an earlier version of pipe (the key now covers more): runs once';
}

/**
 * A changed `resources:` declaration is named as such (`resources.cpu changed: 1 -> 4`), and the thread counts
 * that only followed PIPE_CPUS are not listed again one by one.
 */
function envChanges(before: Record<string, string>, now: Record<string, string>): string[] {
  const reasons: string[] = [];
  const followedCpus = (name: string) => (THREAD_VARIABLES as readonly string[]).includes(name)
    && before?.[name] === before?.PIPE_CPUS && now?.[name] === now?.PIPE_CPUS;
  diffMaps(before, now, (k, a, b) => {
    const declaration = RESOURCE_VARIABLES[k as keyof typeof RESOURCE_VARIABLES];
    if (declaration) reasons.push(`${declaration} changed: ${a ?? '(unset)'} -> ${b ?? '(unset)'} (${k})`);
    else if (!followedCpus(k)) reasons.push(envChange(k, a, b));
  });
  return reasons;
}

function envChange(name: string, before: unknown, now: unknown): string {
  if (isSecretFingerprint(before) || isSecretFingerprint(now)) return `env ${name} changed (value hidden)`;
  return `env ${name} changed: ${show(before)} -> ${show(now)}`;
}

/** `tool.sh changed`, `tool.sh became executable`, ... for one dep (a file dep's value ends in +x when executable). */
export function depChange(path: string, before: unknown, now: unknown): string {
  if (before === undefined) return `new dep ${path}`;
  if (now === undefined) return `dep ${path} removed`;
  if (now === 'missing') return `dep ${path} is missing`;
  const [hashBefore, execBefore] = splitExec(String(before));
  const [hashNow, execNow] = splitExec(String(now));
  const exec = execBefore === execNow ? '' : execNow ? 'became executable' : 'is no longer executable';
  if (hashBefore === hashNow) return `dep ${path} ${exec}`;
  return `dep ${path} changed${exec ? ` and ${exec}` : ''}`;
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

function limit(items: string[], what: string): string[] {
  if (items.length <= MAX_LISTED) return items;
  return [...items.slice(0, MAX_LISTED), `... and ${items.length - MAX_LISTED} more ${what}`];
}

function show(value: unknown): string {
  if (value === undefined) return '(unset)';
  const text = typeof value === 'string' ? `'${value}'` : stableStringify(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
