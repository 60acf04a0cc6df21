/**
 * Ctrl-C or SIGTERM before a command has set up its own handling (while the CLI loads, the pipeline is read,
 * the plan is made) ends pipe at once with exit 130: nothing has been recorded yet. bin/pipe.js installs the
 * same handler as its very first statement (under this symbol); `pipe run` releases it once its own
 * interrupt handling, which stops stage processes and records nothing partial, is in place.
 */
const STARTUP_HANDLER = Symbol.for('pipe.startupSignalHandler');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const INTERRUPTED = 130;

type Registry = { [STARTUP_HANDLER]?: () => void };

export function installStartupSignals(): void {
  const registry = globalThis as Registry;
  if (registry[STARTUP_HANDLER]) return;
  const handler = () => process.exit(INTERRUPTED);
  for (const signal of SIGNALS) process.on(signal, handler);
  registry[STARTUP_HANDLER] = handler;
}

export function releaseStartupSignals(): void {
  const registry = globalThis as Registry;
  const handler = registry[STARTUP_HANDLER];
  if (!handler) return;
  for (const signal of SIGNALS) process.removeListener(signal, handler);
  delete registry[STARTUP_HANDLER];
}
