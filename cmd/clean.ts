// `kubectl tap clean`: removes every session stack of ours, found by label, and says what it
// removed. A pre-installed stack stays unless --all.
import type { Argv, CommandModule } from 'yargs';
import { reportAndExit } from './exit.js';
import { connectionFlags, withConnectionFlags, type ConnectionArgs } from './kube-flags.js';

interface CleanArgs extends ConnectionArgs {
  all: boolean;
  quiet: boolean;
}

export const cleanCommand: CommandModule<object, CleanArgs> = {
  command: 'clean',
  describe: 'Remove every capture stack left by kubectl tap sessions (found by label)',
  builder: (y: Argv) =>
    withConnectionFlags(y)
      .option('all', { type: 'boolean', default: false, describe: 'also remove pre-installed stacks' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'say nothing when there is nothing to remove' })
      .example('$0 clean', 'after a killed session: remove what it left') as unknown as Argv<CleanArgs>,
  handler: async (args) => {
    try {
      const { runClean } = await import('../src/kube/clean.js');
      process.exit(await runClean({ connection: connectionFlags(args), all: args.all, quiet: args.quiet }));
    } catch (error) {
      reportAndExit(error);
    }
  },
};
