// kubectl-tap's entry point: kubectl finds `kubectl-tap` on PATH and runs it for
// `kubectl tap ...`. Commands only parse flags and map errors to exit codes; each loads its
// engine lazily so that `kubectl tap --help` stays fast.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pkg from '../package.json' with { type: 'json' };
import { cleanCommand } from './clean.js';
import { manifestsCommand } from './manifests.js';
import { readCommand } from './read.js';
import { tapCommand } from './tap.js';
import { versionCommand } from './version.js';
import { EXIT_CODES_HELP, EXIT_USAGE, reportAndExit } from './exit.js';
import { STDIN_ARG } from './flags.js';
import { usageMessage } from './usage.js';

const argv = hideBin(process.argv).map((arg) => (arg === '-' ? STDIN_ARG : arg));
const subcommands = [readCommand, cleanCommand, manifestsCommand, versionCommand];
const commandNames = subcommands.map((c) => String(c.command).split(' ')[0]!);

await yargs(argv)
  .scriptName('kubectl tap')
  .usage('$0 [POD_REGEX | TYPE/NAME] [options]\n$0 <command> [options]\n\nStream the API calls of Kubernetes pods as JSON, one entry a line.')
  // Subcommands are matched before the default command, so their names win over a pod regex
  // (`--pods read` taps pods called read).
  .command(tapCommand)
  .command(readCommand)
  .command(cleanCommand)
  .command(manifestsCommand)
  .command(versionCommand)
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version('version', 'Print the version (as the version command does)', `kubectl-tap ${pkg.version}`)
  .epilogue(EXIT_CODES_HELP)
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((message, error) => {
    if (error) reportAndExit(error);
    process.stderr.write(`kubectl tap: ${usageMessage(message, argv, commandNames)}\n`);
    process.exit(EXIT_USAGE);
  })
  .parseAsync();
