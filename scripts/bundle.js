// Bundles the CLI (tsc output is the reference build; this is what bin/pipe.js runs): one ESM entry plus
// chunks for what is loaded lazily. Node 20 has no module compile cache, and resolving and compiling ~80
// small ES modules costs more than an up-to-date run of a small pipeline.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/** A digest of the sources: the compiled-pipeline cache is keyed by it, so a new build never reuses an old parse. */
function sourceDigest(dir) {
  const hash = createHash('sha256');
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }).sort((a, b) => `${a.parentPath}/${a.name}`.localeCompare(`${b.parentPath}/${b.name}`))) {
    if (entry.isFile()) hash.update(entry.name).update(readFileSync(`${entry.parentPath}/${entry.name}`));
  }
  return hash.digest('hex').slice(0, 16);
}

/** A browser page's script (a module sharing src/viz/ with the renderers) as one string: written next to tsc's
 * output for the dist/viz/ module that inlines it, and returned for the CLI bundle below. */
async function pageScriptOf(entry, written) {
  const page = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'warning',
  });
  const script = page.outputFiles[0].text;
  mkdirSync('dist/viz', { recursive: true });
  writeFileSync(written, script);
  return script;
}

const pageScript = await pageScriptOf('src/viz/page/main.ts', 'dist/viz/graph-page.js');
const plotsScript = await pageScriptOf('src/viz/plots-page/main.ts', 'dist/viz/plots-page.js');

const buildId = JSON.stringify(sourceDigest('src'));

// The no-op fast path on its own, in one file with no chunk to import: bin/pipe.js loads it before the CLI, and
// each module more costs an up-to-date run a resolve, a read and a compile. Same build id as the CLI's copy, so
// both name snapshots alike.
await build({
  entryPoints: { fast: 'src/cli/fast-noop.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  define: { __PIPE_BUILD__: buildId },
  logLevel: 'warning',
});

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
  define: { __PIPE_BUILD__: buildId, __PIPE_GRAPH_PAGE__: JSON.stringify(pageScript), __PIPE_PLOTS_PAGE__: JSON.stringify(plotsScript) },
  logLevel: 'warning',
});
