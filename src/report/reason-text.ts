/** Reasons as words: the one place a structured reason becomes text. */
import type { Reason } from './events.js';

export function reasonsText(reasons: readonly Reason[]): string {
  return reasons.map(reasonText).join('; ');
}

export function reasonText(r: Reason): string {
  const s = r.subject ?? '';
  switch (r.kind) {
    case 'up-to-date': return 'up to date';
    case 'forced': return 'forced (--force)';
    case 'always-changed': return 'runs every time (always_changed: true)';
    case 'never-run': return 'never run';
    case 'key-format': return 'recorded by an earlier version of pipe (the key now covers more): runs once';
    case 'key-changed': return 'the key changed (pipe version or format)';
    case 'command': return 'command changed';
    case 'declared-outputs': return 'declared outputs changed';
    case 'fetch-source': return `fetch source changed: ${r.before ?? '(none)'} -> ${r.after ?? '(none)'}`;
    case 'cwd': return `working folder changed: ${r.before ?? '(project root)'} -> ${r.after ?? '(project root)'}`;
    case 'network': return r.after === 'off' ? 'network access removed (network: false)' : 'network access allowed again';
    case 'param': return `param ${s} changed: ${r.before} -> ${r.after}`;
    case 'env': return r.before === undefined && r.after === undefined ? `env ${s} changed (value hidden)` : `env ${s} changed: ${r.before} -> ${r.after}`;
    case 'resources': return `${s} changed: ${r.before} -> ${r.after} (${r.detail})`;
    case 'dep-new': return `new dep ${s}`;
    case 'dep-removed': return `dep ${s} removed`;
    case 'dep-missing': return `dep ${s} is missing`;
    case 'dep-changed': return `dep ${s} changed${r.detail ? ` and ${r.detail}` : ''}`;
    case 'dep-exec': return `dep ${s} ${r.detail ?? ''}`;
    case 'upstream-new': return `new upstream stage ${s}`;
    case 'upstream-removed': return `upstream stage ${s} removed`;
    case 'upstream-changed': return `upstream stage ${s} produced new outputs`;
    case 'upstream-will-run': return `upstream stage ${s} will run first`;
    case 'more': return `... and ${r.after} more ${s}`;
    case 'output-missing': return `output ${s} is missing`;
    case 'output-modified': return `output ${s} was modified`;
    case 'in-cache': return 'outputs for these inputs are in the cache';
    case 'cache-unusable': return `cached output ${s} ${r.detail}; running the stage instead`;
    case 'fetch-verified': return 'cached and verified';
    case 'fetch-not-cached': return r.detail ?? 'not in the cache';
    case 'upstream-outside': return `upstream stage '${s}' has never run and is outside the selection (--from, --downstream); run it first, or widen the selection`;
    case 'upstream-failed': return `not run: upstream stage '${s}' failed`;
    case 'interrupted': return 'not run: interrupted';
    case 'stopped': return 'not run: the run stopped after a failure';
    case 'not-in-cache': return 'not in the caches for its current inputs (pull runs nothing: `pipe run` builds it)';
    case 'upstream-not-restored': return `not pulled: upstream stage '${s}' was not`;
    case 'error': return r.detail ?? 'failed';
  }
}

/** A failure's reason: the message, as data. */
export function errorReason(message: string): Reason {
  return { kind: 'error', detail: message };
}
