// Bundles the CLI (tsc output is the reference build; this is what bin/pipe.js runs): one ESM entry plus
// chunks for what is loaded lazily. Node 20 has no module compile cache, and resolving and compiling ~80
// small ES modules costs more than an up-to-date run of a small pipeline.
import { build } from 'esbuild';

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['fsevents'],
  // CommonJS packages bundled into ESM call require(); give them one
  banner: { js: "import { createRequire as __pipeCreateRequire } from 'node:module'; const require = __pipeCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
