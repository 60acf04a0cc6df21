// @ts-check
/** Shared plumbing for the stage programs: argv parsing, one-line errors, atomic writes, tool calls. */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A user-facing error: printed as one line, no stack trace. */
export class StageError extends Error {}

/**
 * Runs a stage's main function; a StageError (or any error) becomes one line on stderr and exit 1.
 * @param {string} name program name used as the message prefix
 * @param {() => Promise<void> | void} main
 */
export function runMain(name, main) {
  Promise.resolve()
    .then(main)
    .catch((err) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${name}: ${message.split('\n')[0]}\n`);
      process.exitCode = 1;
    });
}

/**
 * Parses `--key value` options and positionals. Every option takes a value.
 * @param {string[]} argv
 * @param {string[]} known option names without dashes
 * @returns {{ opts: Record<string, string>, positionals: string[] }}
 */
export function parseArgs(argv, known) {
  /** @type {Record<string, string>} */
  const opts = {};
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const key = arg.slice(2);
    if (!known.includes(key)) throw new StageError(`unknown option ${arg} (known: ${known.map((k) => '--' + k).join(', ')})`);
    const value = argv[++i];
    if (value === undefined) throw new StageError(`option ${arg} needs a value`);
    opts[key] = value;
  }
  return { opts, positionals };
}

/**
 * @param {Record<string, string>} opts
 * @param {string} key
 */
export function required(opts, key) {
  const value = opts[key];
  if (value === undefined || value === '') throw new StageError(`missing --${key}`);
  return value;
}

/** @param {string} path */
function tempNameFor(path) {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
}

/**
 * Writes a file via a temporary name and a rename, so readers never see half a file.
 * @param {string} path
 * @param {string | Uint8Array} content
 */
export function writeAtomic(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** @param {string} path @param {unknown} value */
export function writeJson(path, value) {
  writeAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * A temporary path next to `path`, and a commit function that renames it into place.
 * For outputs written by external tools (ffmpeg, apertium).
 * @param {string} path
 */
export function stagedOutput(path) {
  mkdirSync(dirname(path), { recursive: true });
  const ext = path.match(/\.[A-Za-z0-9]+$/)?.[0] ?? '';
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}${ext}`);
  return {
    tmp,
    commit: () => renameSync(tmp, path),
    discard: () => rmSync(tmp, { force: true }),
  };
}

/** Install hints for the Debian tools the offline profile uses. */
export const INSTALL_HINTS = /** @type {Record<string, string>} */ ({
  ffmpeg: 'apt-get install ffmpeg',
  ffprobe: 'apt-get install ffmpeg',
  pocketsphinx_continuous: 'apt-get install pocketsphinx pocketsphinx-en-us',
  apertium: 'apt-get install apertium apertium-eng-spa',
});

/**
 * Runs a tool with an argv (no shell). A missing tool gives a one-line message with the install hint.
 * @param {string} tool
 * @param {string[]} args
 * @param {{ maxBuffer?: number, encoding?: BufferEncoding | 'buffer' }} [options]
 * @returns {Promise<{ stdout: any, stderr: string }>}
 */
export function runTool(tool, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      { maxBuffer: options.maxBuffer ?? 1 << 28, encoding: /** @type {any} */ (options.encoding ?? 'utf8') },
      (err, stdout, stderr) => {
        if (err && /** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') {
          const hint = INSTALL_HINTS[tool] ? ` (install it with: ${INSTALL_HINTS[tool]}, or run: pipe run bootstrap:tools)` : '';
          reject(new StageError(`'${tool}' not found on PATH${hint}`));
        } else if (err) {
          const detail = String(stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? err.message;
          reject(new StageError(`${tool} failed: ${detail}`));
        } else {
          resolve({ stdout, stderr: String(stderr) });
        }
      },
    );
  });
}
