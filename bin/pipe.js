#!/usr/bin/env node
// The bundled CLI (npm run build); the plain tsc output is the fallback while developing.
import { existsSync } from 'node:fs';

const bundled = new URL('../dist/bundle/main.js', import.meta.url);
await import(existsSync(bundled) ? bundled.href : '../dist/cli/main.js');
