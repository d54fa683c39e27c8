import type { Argv, CommandModule } from 'yargs';
import { reportAndExit } from './exit.js';
import { parseByteSize, STDIN_ARG } from './flags.js';

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
      .example('$0 read capture.pcapng', 'every call in the file, as NDJSON')
      .example("tcpdump -i any -w - | $0 read - -o summary", 'live, one line a call')
      .example("$0 read c.pcap -f 'response.status >= 500'", 'only server errors') as unknown as Argv<ReadArgs>,
  handler: async (args) => {
    try {
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
