#!/usr/bin/env node
// The bundled CLI (npm run build); the plain tsc output is the fallback while developing.
// An up-to-date `pipe run` is answered from a stat snapshot before the CLI is even loaded (src/cli/fast-noop.ts).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/', import.meta.url);
const bundled = existsSync(new URL('main.js', bundle));
const fast = bundled ? await import(new URL('fast.js', bundle).href) : undefined;
if (!fast?.tryFastNoop(process.argv)) {
  await import(bundled ? new URL('main.js', bundle).href : '../dist/cli/main.js');
}
