import type { Argv, CommandModule } from 'yargs';
import { EXIT_CODES_HELP, reportAndExit } from './exit.js';
import { parseByteSize, sessionSpec, STDIN_ARG, withEntryOptions, withSessionOptions, type EntryArgs, type SessionArgs } from './flags.js';

type ReadArgs = { file: string; 'memory-budget': string } & EntryArgs & SessionArgs;

export const readCommand: CommandModule<object, ReadArgs> = {
  command: 'read <file>',
  describe: 'Read a pcap or pcapng capture (- for stdin) and print its API calls',
  builder: (y: Argv) =>
    withSessionOptions(withEntryOptions(y.positional('file', { type: 'string', demandOption: true, describe: 'capture file, or - for stdin' })))
      // Live, each tapper's budget follows from kubectl tap's --tapper-memory instead.
      .option('memory-budget', { type: 'string', default: '256MiB', describe: 'memory the engine may hold for buffers, connections and pending calls; beyond it the oldest or largest is shed and counted' })
      .example('$0 read capture.pcapng', 'every call in the file, as NDJSON')
      .example("tcpdump -i any -w - | $0 read - -o summary", 'live, one line a call')
      .example("$0 read c.pcap -f 'response.status >= 500'", 'only server errors')
      .example("$0 read c.pcap --wait-for 'request.path = \"/orders\"' --fail-on 'response.status >= 500'", 'a smoke test: exit 0, 3 or 4')
      .example('$0 read c.pcap -q --service-map map.svg', 'draw who called whom')
      .epilogue(EXIT_CODES_HELP) as unknown as Argv<ReadArgs>,
  handler: async (args) => {
    try {
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
