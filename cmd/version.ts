import type { CommandModule } from 'yargs';
import pkg from '../package.json' with { type: 'json' };

export const versionCommand: CommandModule = {
  command: 'version',
  describe: 'Print the version of kubectl-tap',
  handler: () => {
    process.stdout.write(`kubectl-tap ${pkg.version}\n`);
  },
};
