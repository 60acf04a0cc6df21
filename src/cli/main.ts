/** `pipe`: the command line. Each command lives in its own module, loaded only when used. */
import { Command, CommanderError, Option } from 'commander';
import { redactorFor, redactStandardStreams } from '../report/redact.js';
import { EXIT, UserError, isStorageFailure, storageErrorOf } from '../util/errors.js';
import type { GlobalOptions } from './options.js';
import { installStartupSignals } from './signals.js';

installStartupSignals(); // already done by bin/pipe.js; this covers running dist/cli/main.js directly

function wantsHelp(argv: string[]): boolean {
  const args = argv.slice(2);
  return args.includes('--help') || args.includes('-h') || args[0] === 'help';
}

const VERSION = '0.1.0';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The commands that take targets and the pipeline's shorthands: one grammar for all of them. */
function withShorthands(cmd: Command, shorthands: string): Command {
  return cmd.allowUnknownOption(true).addHelpText('after', shorthands);
}

function program(shorthands: string): Command {
  const cli = new Command('pipe')
    .description('Declarative, content-hashed, incremental pipelines for ML and media')
    .version(VERSION, '--version')
    .option('-f, --file <FILE>', 'the pipeline file (default: the nearest pipeline.yaml at or above this folder)')
    .option('--json', 'machine-readable output (NDJSON for run)')
    .option('-q, --quiet', 'print only failures and the summary')
    .option('-v, --verbose', 'print more: reasons, plan, internal errors in full')
    .option('--no-color', 'no ANSI colours')
    .showSuggestionAfterError(true)
    .exitOverride();

  withShorthands(cli.command('run'), shorthands)
    .description('bring the targets and everything upstream up to date')
    .argument('[TARGET...]', 'stage names, group names or globs (default: the group "default", else every sink)')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('-j, --jobs <N>', 'how many cpu slots to fill at once (default: the number of cores); with --executor slurm: jobs queued or running at once (default 100)')
    .option('-n, --dry-run', 'print the plan with reasons; run nothing')
    .option('--force [STAGE...]', 'run these stages even when up to date; alone: the targets themselves, or every stage when no target is given')
    .option('-k, --keep-going', 'after a failure, keep running what does not depend on it')
    .option('--offline', 'no network for fetch stages: a model that is not cached is an error')
    .option('--no-network', 'run command stages with networking cut off (unshare -n); only fetch stages may reach the network')
    .option('--watch', 'after the run, watch the deps and rerun what a change affects')
    .option('--remote-cache <URL>', 'the team cache (Bazel HTTP-cache layout) to restore from and upload to (also PIPE_REMOTE_CACHE)')
    .option('--remote-cache-read-only', 'restore from the team cache, never upload to it')
    .option('--sweep <KEY=V1,V2,...>', 'run every combination of these values of vars, one run each, then come back to the base values; repeatable (a grid)', collect, [])
    .option('--profile <FILE>', 'write a Chrome trace of the run (one lane per worker slot) to FILE')
    .option('--from <STAGE>', 'only this stage and what is downstream of it (repeatable; what is upstream is used as recorded)', collect, [])
    .option('--until <STAGE>', 'only this stage and what is upstream of it (repeatable)', collect, [])
    .option('--downstream', 'the targets and everything downstream of them, not what is upstream')
    .addOption(new Option('--executor <EXECUTOR>', 'where command stages run: local processes, or one Slurm job each (default: the pipeline\'s executor:, else local)').choices(['local', 'slurm']))
    .option('--cancel-orphans', 'cancel the Slurm jobs of an earlier pipe run that was killed, instead of waiting for them')
    .action(async (targets: string[], opts, cmd: Command) => (await import('./run.js')).runCommand(targets, opts, globals(cmd)));

  const metrics = cli.command('metrics').description('the values of the declared metrics: files, now or against an earlier run');
  withShorthands(metrics.command('show', { isDefault: true }), shorthands)
    .description('the metrics in the workspace (nested numbers flattened as a.b.c)')
    .argument('[ARG...]', "the pipeline's shorthands (-m FILE ...)")
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./metrics.js')).metricsShowCommand(words, opts, globals(cmd)));
  metrics.command('diff')
    .description('the change per value: the workspace against RUN (default: the latest run with other values), or RUN against RUN2')
    .argument('[RUN...]', 'a run id (or a unique part of it), latest, or ~N (N runs before the latest)')
    .option('--all', 'also the values that did not change')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (refs: string[], opts, cmd: Command) => (await import('./metrics.js')).metricsDiffCommand(refs, opts, globals(cmd)));

  const runs = cli.command('runs').description('the run history (.pipe/runs/): when, the command, per stage what happened and how long');
  runs.command('list', { isDefault: true })
    .description('the recorded runs, oldest first')
    .option('--limit <N>', 'how many of the latest runs to list (default 30)')
    .action(async (opts, cmd: Command) => (await import('./runs.js')).runsListCommand(opts, globals(cmd)));
  runs.command('show')
    .description("a run's stages (status, time, worker slot), its critical path and its metrics")
    .argument('<RUN>', 'a run id (or a unique part of it), latest, or ~N')
    .action(async (ref: string, _opts, cmd: Command) => (await import('./runs.js')).runsShowCommand(ref, globals(cmd)));
  runs.command('trace')
    .description("a run as a Chrome trace (Perfetto, chrome://tracing): one lane per worker slot")
    .argument('<RUN>', 'a run id (or a unique part of it), latest, or ~N')
    .option('-o, --output <FILE>', 'write to a file instead of stdout')
    .action(async (ref: string, opts, cmd: Command) => (await import('./runs.js')).runsTraceCommand(ref, opts, globals(cmd)));
  runs.command('checkout')
    .description('the same as pipe checkout RUN')
    .argument('<RUN>')
    .option('--force', 'overwrite outputs that were edited by hand (the cache does not hold them)')
    .action(async (ref: string, opts, cmd: Command) => (await import('./checkout.js')).checkoutCommand(ref, opts, globals(cmd)));

  cli.command('checkout')
    .description("put a run's outputs back in the workspace from the cache, without running anything")
    .argument('<RUN>', 'a run id (or a unique part of it), latest, or ~N; a sweep variant is a run')
    .option('--force', 'overwrite outputs that were edited by hand (the cache does not hold them)')
    .action(async (ref: string, opts, cmd: Command) => (await import('./checkout.js')).checkoutCommand(ref, opts, globals(cmd)));

  withShorthands(cli.command('plots'), shorthands)
    .description('draw the declared plots: files and the metrics across runs as one self-contained HTML page')
    .argument('[ARG...]', "the pipeline's shorthands (-m FILE ...)")
    .option('-o, --output <FILE>', 'where the page goes', 'plots.html')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./plots.js')).plotsCommand(words, opts, globals(cmd)));
  withShorthands(cli.command('push'), shorthands)
    .description('upload to the team cache what the local cache holds for the targets\' current inputs')
    .argument('[TARGET...]', 'stage names, group names or globs (default: as for run), with everything upstream')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('--remote-cache <URL>', 'the team cache (also PIPE_REMOTE_CACHE, remote_cache: in pipeline.yaml)')
    .action(async (targets: string[], opts, cmd: Command) => (await import('./push.js')).pushCommand(targets, opts, globals(cmd)));

  withShorthands(cli.command('pull'), shorthands)
    .description('download from the team cache the outputs for the targets\' current inputs; run nothing')
    .argument('[TARGET...]', 'stage names, group names or globs (default: as for run), with everything upstream')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('-j, --jobs <N>', 'stages restored at once (default: the number of cores)')
    .option('--remote-cache <URL>', 'the team cache (also PIPE_REMOTE_CACHE, remote_cache: in pipeline.yaml)')
    .action(async (targets: string[], opts, cmd: Command) => (await import('./run.js')).runCommand(targets, { ...opts, restoreOnly: true, remoteCacheReadOnly: true }, globals(cmd)));

  withShorthands(cli.command('status'), shorthands)
    .description('each stage: fresh, stale (with reasons), never-run or missing-outputs')
    .argument('[TARGET...]')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('--from <STAGE>', 'only this stage and what is downstream of it (repeatable; what is upstream is used as recorded)', collect, [])
    .option('--until <STAGE>', 'only this stage and what is upstream of it (repeatable)', collect, [])
    .option('--downstream', 'the targets and everything downstream of them, not what is upstream')
    .option('--remote-cache <URL>', 'also say which stale stages this team cache would restore (status asks it only when given this)')
    .action(async (targets: string[], opts, cmd: Command) => (await import('./status.js')).statusCommand(targets, opts, globals(cmd)));

  withShorthands(cli.command('explain'), shorthands)
    .description('why the stage would or would not run: every part of its key against the last run')
    .usage('[options] STAGE')
    .argument('<STAGE...>', 'a stage name or an output path it produces')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./explain.js')).explainCommand(words, opts, globals(cmd)));

  withShorthands(cli.command('graph'), shorthands)
    .description('draw the DAG')
    .argument('[TARGET...]')
    .addOption(new Option('--format <FORMAT>', 'output format (default: from the -o extension, else ascii)').choices(['ascii', 'dot', 'mermaid', 'json', 'html', 'svg', 'png']))
    .option('-o, --output <FILE>', 'write to a file instead of stdout')
    .option('--status', 'colour each stage by its state, with the reasons')
    .addOption(new Option('--collapse <MODE>', 'fold namespaces and jobs into one node').choices(['auto', 'none', 'all']))
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (targets: string[], opts, cmd: Command) => (await import('./graph.js')).graphCommand(targets, opts, globals(cmd)));

  withShorthands(cli.command('list'), shorthands)
    .description('stages and groups with their descriptions')
    .argument('[TARGET...]', 'only these stages')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./list.js')).listCommand(words, opts, globals(cmd)));

  withShorthands(cli.command('validate'), shorthands)
    .description('check the pipeline file: schema, references, cycles, output clashes')
    .argument('[TARGET...]', 'also check that these targets select stages')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./validate.js')).validateCommand(words, opts, globals(cmd)));

  withShorthands(cli.command('env'), shorthands)
    .description('the environment a stage runs under, as shell-sourceable KEY=value lines')
    .usage('[options] [STAGE]')
    .argument('[STAGE...]', 'a stage name or an output path it produces (default: what every stage gets)')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .action(async (words: string[], opts, cmd: Command) => (await import('./env.js')).envCommand(words, opts, globals(cmd)));

  withShorthands(cli.command('clean'), shorthands)
    .description('remove the outputs of the targets (they stay in the cache and are restored by the next run)')
    .argument('[TARGET...]', 'stages, groups or output paths (with --caches: cache names)')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('--caches', 'instead: list the caches with their sizes and empty them; every application cache (cache: apps), or the ones named (the model roots hf_home, torch_home, mlx_home only when named)')
    .option('--orphans', 'instead: remove outputs an earlier run wrote that no stage declares any more, and forget their records')
    .option('-n, --dry-run', 'list what would be removed; remove nothing')
    .action(async (targets: string[], opts, cmd: Command) => (await import('./clean.js')).cleanCommand(targets, opts, globals(cmd)));

  withShorthands(cli.command('commit'), shorthands)
    .description("record the stages' current outputs as their result for their current key, without running them (adopt work already done)")
    .usage('[options] STAGE...')
    .argument('<STAGE...>', 'stages, groups, templates or globs')
    .option('--set <KEY=VALUE>', 'override a var (repeatable)', collect, [])
    .option('-y, --yes', 'record without asking')
    .option('-n, --dry-run', 'show what would be recorded; record nothing')
    .action(async (words: string[], opts, cmd: Command) => (await import('./commit.js')).commitCommand(words, opts, globals(cmd)));

  cli.command('gc')
    .description('drop cache objects that no current stage record refers to')
    .option('--keep-runs', 'also keep the outputs of earlier runs (the run-cache)')
    .action(async (opts, cmd: Command) => (await import('./clean.js')).gcCommand(opts, globals(cmd)));

  cli.command('pin')
    .description('resolve branch revisions in a model manifest to commit hashes and write them back')
    .argument('[MANIFEST]', 'the manifest file', 'config/models.yaml')
    .action(async (manifest: string, _opts, cmd: Command) => (await import('./pin.js')).pinCommand(manifest, globals(cmd)));

  return cli;
}

function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals();
  const color = o.color !== false && !process.env.NO_COLOR && process.stderr.isTTY === true;
  return { file: o.file, json: !!o.json, quiet: !!o.quiet, verbose: !!o.verbose, color };
}

async function main(argv: string[]): Promise<number> {
  redactStandardStreams(redactorFor(process.cwd()));
  try {
    const shorthands = wantsHelp(argv) ? await (await import('./shorthand-help.js')).shorthandHelp(argv) : '';
    await program(shorthands).parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    return reportError(err, argv.includes('-v') || argv.includes('--verbose'));
  }
}

function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    return EXIT.invalid; // commander already printed the message
  }
  if (isStorageFailure(err)) err = storageErrorOf(err); // a full disk or a read-only folder is not a bug of pipe
  if (err instanceof UserError) {
    process.stderr.write(`pipe: ${redactorFor(process.cwd()).text(err.message)}\n`);
    return err.exitCode;
  }
  const message = redactorFor(process.cwd()).text(err instanceof Error ? err.message : String(err));
  process.stderr.write(`pipe: internal error: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(redactorFor(process.cwd()).text(err.stack) + '\n');
  else process.stderr.write('(run with -v for details; please report it)\n');
  return EXIT.stageFailed;
}

// `pipe ... | head` closes our stdout early: stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode === undefined ? EXIT.ok : Number(process.exitCode));
    throw err;
  });
}

const code = await main(process.argv);
process.exitCode = code;
