// kubectl-tap's entry point: kubectl finds `kubectl-tap` on PATH and runs it for
// `kubectl tap ...`. Commands only parse flags and map errors to exit codes; each loads its
// engine lazily so that `kubectl tap --help` stays fast.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pkg from '../package.json' with { type: 'json' };
import { COMMANDS } from './commands.js';
import { EXIT_CODES_HELP, EXIT_USAGE, reportAndExit } from './exit.js';
import { STDIN_ARG } from './flags.js';
import { usageMessage } from './usage.js';

const argv = hideBin(process.argv).map((arg) => (arg === '-' ? STDIN_ARG : arg));
/** The subcommands' names (the default command, the live session, has none). */
const commandNames = COMMANDS.map((c) => String(c.command).split(' ')[0]!).filter((name) => !name.startsWith('$0') && !name.startsWith('['));

// `kubectl_complete-tap` (kubectl >= 1.26 runs it on TAB) calls `kubectl-tap __complete WORDS`.
if (argv[0] === '__complete') {
  void import('./complete.js').then(({ printCompletions }) => printCompletions(hideBin(process.argv).slice(1)));
} else {
  run();
}

function run(): void {
  // No top-level await: the single executable (scripts/sea.mjs) runs a CommonJS build.
  const cli = yargs(argv)
    .scriptName('kubectl tap')
    .usage('$0 [POD_REGEX | TYPE/NAME] [options]\n$0 <command> [options]\n\nStream the API calls of Kubernetes pods as JSON, one entry a line.')
    // Subcommands are matched before the default command, so their names win over a pod regex
    // (`--pods read` taps pods called read).
    .command(COMMANDS)
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
    });
  skipHelpCache(cli);
  void cli.parseAsync().catch(reportAndExit);
}

/**
 * yargs renders the whole help text each time it starts a subcommand, to have it at hand
 * should the command fail later. Our fail handler never prints it (reportAndExit for errors,
 * usageMessage for usage), and rendering it (cliui's word wrapping) was 63 ms of the 420 ms
 * that `read` of an empty capture takes (--cpu-prof): skipped here, through yargs' internal
 * usage object since no option turns it off. `--help` is rendered as before.
 */
function skipHelpCache(cli: object): void {
  const internal = cli as { getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}
