/** Chooses how a run is shown: NDJSON with --json, listr2 on an interactive terminal, plain lines otherwise. */
import type { Reporter } from '../report/events.js';
import { redactingReporter, redactorFor } from '../report/redact.js';
import type { GlobalOptions } from './options.js';

const LISTR_MAX_STAGES = 60;

/** `root`: the project, whose token files are secrets to mask too. */
export async function makeReporter(globals: GlobalOptions, stages: number, root?: string): Promise<Reporter> {
  return redactingReporter(await chooseReporter(globals, stages), redactorFor(root));
}

async function chooseReporter(globals: GlobalOptions, stages: number): Promise<Reporter> {
  if (globals.json) return new (await import('../report/ndjson.js')).NdjsonReporter();
  const interactive = process.stderr.isTTY && !process.env.CI && !globals.quiet && !globals.verbose && stages <= LISTR_MAX_STAGES;
  if (interactive) return new (await import('../report/listr.js')).ListrReporter(globals.color);
  return new (await import('../report/plain.js')).PlainReporter({ quiet: globals.quiet, verbose: globals.verbose, color: globals.color });
}
