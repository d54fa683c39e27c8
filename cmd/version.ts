import type { CommandModule } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_TAPPER_IMAGE } from '../src/kube/manifests.js';

/** What `kubectl tap version -o json` prints; the image is the one `--tapper-image` defaults to. */
export interface VersionInfo {
  version: string;
  tapperImage: string;
}

export const versionCommand: CommandModule<object, { output: string }> = {
  command: 'version',
  describe: 'Print the version of kubectl-tap and the tapper image it starts by default',
  builder: (y) =>
    y.option('output', { alias: 'o', choices: ['text', 'json'], default: 'text', describe: 'text for people, json for scripts' }),
  handler: (args) => {
    const info: VersionInfo = { version: pkg.version, tapperImage: DEFAULT_TAPPER_IMAGE };
    process.stdout.write(
      args.output === 'json' ? `${JSON.stringify(info)}\n` : `kubectl-tap ${info.version}\ntapper image ${info.tapperImage}\n`,
    );
  },
};
