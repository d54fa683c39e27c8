import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../src/errors.js';
import { EXIT_CODES_HELP, reportAndExit } from './exit.js';
import { parseByteSize, sessionSpec, STDIN_ARG, withEntryOptions, withSessionOptions, type EntryArgs, type SessionArgs } from './flags.js';

type ReadArgs = { file: string; 'memory-budget': string } & EntryArgs & SessionArgs;

// Examples as a block of their own: yargs' two-column examples wrap commands mid-line.
const READ_EXAMPLES = [
  'Examples:',
  '  # every call in the file, as NDJSON',
  '  kubectl tap read capture.pcapng',
  '  # live from tcpdump, one line a call (-U: write each packet as it arrives)',
  '  tcpdump -i any -U -w - | kubectl tap read - -o summary',
  '  # only server errors',
  "  kubectl tap read capture.pcap -f 'response.status >= 500'",
  '  # a smoke test: exit 0, 3 or 4',
  "  kubectl tap read c.pcap --wait-for 'request.path = \"/orders\"' --fail-on 'response.status >= 500'",
  '  # draw who called whom',
  '  kubectl tap read c.pcap -q --service-map map.svg',
  '',
  EXIT_CODES_HELP,
].join('\n');

export const readCommand: CommandModule<object, ReadArgs> = {
  command: 'read <file>',
  describe: 'Read a pcap or pcapng capture (- for stdin) and print its API calls',
  builder: (y: Argv) =>
    withSessionOptions(withEntryOptions(y.positional('file', { type: 'string', demandOption: true, describe: 'capture file, or - for stdin' })))
      .option('memory-budget', { type: 'string', default: '256MiB', describe: 'memory the engine may hold for buffers, connections and pending calls; beyond it the oldest or largest is shed and counted' })
      .epilogue(READ_EXAMPLES) as unknown as Argv<ReadArgs>,
  handler: async (args) => {
    try {
      if (args.file === '') throw new UsageError('read needs a capture file, not an empty name: kubectl tap read FILE (or - for stdin)');
      const { runRead } = await import('./read-run.js');
      const code = await runRead({
        file: args.file === STDIN_ARG ? '-' : args.file,
        session: sessionSpec(args, args.output === 'summary' && process.stdout.isTTY === true, args.file === STDIN_ARG ? 'stdin' : args.file),
        maxBody: parseByteSize(args['max-body'], '--max-body'),
        maxMessages: args['max-messages'],
        memoryBudget: parseByteSize(args['memory-budget'], '--memory-budget'),
        redact: args.redact,
        redactHeaders: args['redact-header'],
        protoPaths: args.proto,
      });
      process.exitCode = code;
    } catch (error) {
      reportAndExit(error);
    }
  },
};
