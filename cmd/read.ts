import type { Argv, CommandModule } from 'yargs';
import { reportAndExit } from './exit.js';
import { parseByteSize, STDIN_ARG, withOutputFlags, type OutputArgs } from './flags.js';

interface ReadArgs extends OutputArgs {
  file: string;
  'max-messages': number;
  'redact-header': string[];
  proto: string[];
}

export const readCommand: CommandModule<object, ReadArgs> = {
  command: 'read <file>',
  describe: 'Read a pcap or pcapng capture (- for stdin) and print its API calls',
  builder: (y: Argv) =>
    withOutputFlags(y.positional('file', { type: 'string', demandOption: true, describe: 'capture file, or - for stdin' }))
      .option('max-messages', { type: 'number', default: 100, describe: 'messages kept per streaming entry (gRPC streams)' })
      .option('redact-header', { type: 'string', array: true, default: [] as string[], describe: 'also redact this header (repeatable)' })
      .option('proto', { type: 'string', array: true, default: [] as string[], describe: '.proto file or folder for named gRPC decoding (repeatable)' })
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
