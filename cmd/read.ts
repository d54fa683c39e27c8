import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../src/errors.js';
import { reportAndExit } from './exit.js';
import { parseByteSize, STDIN_ARG } from './flags.js';
import { EXIT_CODES_HELP } from './usage.js';

const READ_EXAMPLES = [
  'Examples:',
  '  # every call in the file, as NDJSON',
  '  kubectl tap read capture.pcapng',
  '  # live from tcpdump, one line a call (-U: write each packet as it arrives)',
  '  tcpdump -i any -U -w - | kubectl tap read - -o summary',
  '  # only server errors',
  "  kubectl tap read capture.pcap -f 'response.status >= 500'",
  '',
  EXIT_CODES_HELP,
].join('\n');

interface ReadArgs {
  file: string;
  filter?: string;
  output: 'ndjson' | 'summary';
  'max-body': string;
  'max-messages': number;
  'memory-budget': string;
  redact: boolean;
  'redact-header': string[];
  proto: string[];
  quiet: boolean;
}

export const readCommand: CommandModule<object, ReadArgs> = {
  command: 'read <file>',
  describe: 'Read a pcap or pcapng capture (- for stdin) and print its API calls',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'capture file, or - for stdin' })
      .option('filter', { alias: 'f', type: 'string', describe: 'JSONata expression; only entries for which it is true are printed' })
      .option('output', { alias: 'o', choices: ['ndjson', 'summary'] as const, default: 'ndjson' as const, describe: 'output format' })
      .option('max-body', { type: 'string', default: '64KiB', describe: 'body bytes kept per entry, gRPC messages included (sizes stay exact)' })
      .option('max-messages', { type: 'number', default: 100, describe: 'messages kept per streaming entry (gRPC streams)' })
      .option('memory-budget', { type: 'string', default: '256MiB', describe: 'memory the engine may hold for buffers, connections and pending calls; beyond it the oldest or largest is shed and counted' })
      .option('redact', { type: 'boolean', default: true, describe: 'redact credentials (use --no-redact to turn off)' })
      .option('redact-header', { type: 'string', array: true, default: [] as string[], describe: 'also redact this header (repeatable)' })
      .option('proto', { type: 'string', array: true, default: [] as string[], describe: '.proto file or folder for named gRPC decoding (repeatable)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no end-of-run summary on stderr' })
      // Examples as a block of their own: yargs' two-column examples wrap commands mid-line.
      .epilogue(READ_EXAMPLES) as unknown as Argv<ReadArgs>,
  handler: async (args) => {
    try {
      if (args.file === '') throw new UsageError('read needs a capture file, not an empty name: kubectl tap read FILE (or - for stdin)');
      const { runRead } = await import('./read-run.js');
      await runRead({
        file: args.file === STDIN_ARG ? '-' : args.file,
        filter: args.filter,
        output: args.output,
        maxBody: parseByteSize(args['max-body'], '--max-body'),
        maxMessages: args['max-messages'],
        memoryBudget: parseByteSize(args['memory-budget'], '--memory-budget'),
        redact: args.redact,
        redactHeaders: args['redact-header'],
        protoPaths: args.proto,
        quiet: args.quiet,
      });
    } catch (error) {
      reportAndExit(error);
    }
  },
};
