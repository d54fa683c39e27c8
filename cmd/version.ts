// `kubectl tap version`: the CLI's version and the tapper image it starts by default, then,
// unless --client, what runs in the cluster (each stack's image and its tappers' versions).
// The local part is always printed and the exit code is 0: a cluster that cannot be asked is
// said so on its line.
import type { Argv, CommandModule } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_TAPPER_IMAGE } from '../src/kube/manifests.js';
import { connectionFlags, withConnectionFlags, type ConnectionArgs } from './kube-flags.js';
import type { ClusterReport } from '../src/kube/running-stack.js';

/** What `kubectl tap version -o json` prints; the image is the one `--tapper-image` defaults to. */
export interface VersionInfo {
  version: string;
  tapperImage: string;
  /** Absent with --client. */
  cluster?: ClusterReport;
}

interface VersionArgs extends ConnectionArgs {
  output: string;
  client: boolean;
}

/** Each request of `version` is bounded even without --request-timeout: it must not hang. */
const VERSION_REQUEST_TIMEOUT_MS = 5000;

export const versionCommand: CommandModule<object, VersionArgs> = {
  command: 'version',
  describe: 'Print the version of kubectl-tap, the tapper image it starts by default, and the stack running in the cluster',
  builder: (y: Argv) =>
    withConnectionFlags(y)
      .option('output', { alias: 'o', choices: ['text', 'json'], default: 'text', describe: 'text for people, json for scripts' })
      .option('client', { type: 'boolean', default: false, describe: 'only the local part: do not ask the cluster' }) as unknown as Argv<VersionArgs>,
  handler: async (args) => {
    const info: VersionInfo = { version: pkg.version, tapperImage: DEFAULT_TAPPER_IMAGE };
    const local = `kubectl-tap ${info.version}\ntapper image ${info.tapperImage}\n`;
    if (args.client) {
      process.stdout.write(args.output === 'json' ? `${JSON.stringify(info)}\n` : local);
      return;
    }
    // The local part first, at once: the cluster may take up to the timeout to answer.
    if (args.output !== 'json') process.stdout.write(local);
    const { clusterLines, describeCluster } = await import('../src/kube/running-stack.js');
    info.cluster = await describeCluster(connectionFlags(args), args['tap-namespace'], VERSION_REQUEST_TIMEOUT_MS);
    process.stdout.write(args.output === 'json' ? `${JSON.stringify(info)}\n` : clusterLines(info.cluster).map((l) => `${l}\n`).join(''));
    // The cluster's client keeps sockets and timers alive a moment: version is done.
    process.exit(0);
  },
};
