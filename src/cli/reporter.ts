/**
 * Chooses how a run is shown: NDJSON with --json, listr2 on an interactive terminal, plain lines otherwise.
 * A dry run is a plan the user asked for: plain lines on stdout, whatever the terminal.
 */
import type { Reporter } from '../report/events.js';
import { redactingReporter, redactorFor } from '../report/redact.js';
import { shellQuote } from '../pipeline/interpolate.js';
import type { Project } from '../project.js';
import type { GlobalOptions } from './options.js';

const LISTR_MAX_STAGES = 60;

/** The project's token files are secrets to mask too. */
export async function makeReporter(globals: GlobalOptions, project: Project, stages: number, dryRun: boolean): Promise<Reporter> {
  return redactingReporter(await chooseReporter(globals, project, stages, dryRun), redactorFor(project.root));
}

async function chooseReporter(globals: GlobalOptions, project: Project, stages: number, dryRun: boolean): Promise<Reporter> {
  if (globals.json) return new (await import('../report/ndjson.js')).NdjsonReporter();
  // listr2 falls back to plain lines on stdout when stdout is not a terminal: then draw nothing
  const interactive = process.stderr.isTTY && process.stdout.isTTY && !process.env.CI && !globals.quiet && !globals.verbose && !dryRun && stages <= LISTR_MAX_STAGES;
  if (interactive) return new (await import('../report/listr.js')).ListrReporter(globals.color);
  return new (await import('../report/plain.js')).PlainReporter({
    quiet: globals.quiet,
    verbose: globals.verbose,
    color: globals.color,
    planColor: globals.color && process.stdout.isTTY === true,
    commandOf: (name) => commandText(project, name),
  });
}

/** A stage's command as one would type it: a shell string as is, an argv list shell-quoted. */
function commandText(project: Project, name: string): string | undefined {
  const cmd = project.stages.get(name)?.cmd;
  if (cmd === undefined) return undefined;
  return typeof cmd === 'string' ? cmd : cmd.map(shellQuote).join(' ');
}
