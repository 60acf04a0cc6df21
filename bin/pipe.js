#!/usr/bin/env node
import { existsSync } from 'node:fs';

// First of all: a signal while pipe starts up exits 130 (interrupted), not 143; see src/cli/signals.ts.
const startupHandler = () => process.exit(130);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, startupHandler);
globalThis[Symbol.for('pipe.startupSignalHandler')] = startupHandler;

// The bundled CLI (npm run build); the plain tsc output is the fallback while developing.
// An up-to-date `pipe run` is answered from a stat snapshot before the CLI is even loaded (src/cli/fast-noop.ts).

const bundle = new URL('../dist/bundle/', import.meta.url);
const bundled = existsSync(new URL('main.js', bundle));
const fast = bundled ? await import(new URL('fast.js', bundle).href) : undefined;
if (!fast?.tryFastNoop(process.argv)) {
  await import(bundled ? new URL('main.js', bundle).href : '../dist/cli/main.js');
}
