// `kubectl tap manifests`: the stack's YAML, for admins who review it or pre-install it.
import type { Argv, CommandModule } from 'yargs';
import { reportAndExit } from './exit.js';
import { parseByteSize } from './flags.js';
import { cpuFlag, memoryFlag, parseSeconds, withStackFlags, type StackArgs } from './kube-flags.js';

interface ManifestsArgs extends StackArgs {
  'tap-namespace': string;
  session: boolean;
  'max-body': string;
  redact: boolean;
}

export const manifestsCommand: CommandModule<object, ManifestsArgs> = {
  command: 'manifests',
  describe: 'Print the capture stack as YAML (pre-install it for --use-installed, or review what a session creates)',
  builder: (y: Argv) =>
    withStackFlags(y)
      .option('tap-namespace', { type: 'string', default: 'kubectl-tap', describe: 'the namespace of the stack' })
      .option('session', { type: 'boolean', default: false, describe: "print what a session creates (with its reaper) instead of a pre-installable stack" })
      .option('max-body', { type: 'string', default: '64KiB', describe: 'body bytes the tappers keep per entry' })
      .option('redact', { type: 'boolean', default: true, describe: 'the tappers redact credentials (--no-redact to turn off)' })
      .example('$0 manifests | kubectl apply -f -', 'pre-install; then kubectl tap --use-installed needs only pods/proxy and the Secret')
      .example('$0 manifests --session', 'what a session installs, including its self-removal Job') as unknown as Argv<ManifestsArgs>,
  handler: async (args) => {
    try {
      const { randomBytes } = await import('node:crypto');
      const { DEFAULT_TAPPER_IMAGE, parseNodeSelector, parseToleration, renderStack, stackYaml } = await import('../src/kube/manifests.js');
      const objects = renderStack({
        namespace: args['tap-namespace'],
        image: args['tapper-image'] ?? DEFAULT_TAPPER_IMAGE,
        // A fresh token each time: every pre-installed stack has its own.
        token: randomBytes(32).toString('base64url'),
        memoryBytes: memoryFlag(args['tapper-memory']),
        cpu: cpuFlag(args['tapper-cpu']),
        nodeSelector: parseNodeSelector(args['node-selector']),
        tolerations: args.toleration.map(parseToleration),
        imagePullSecrets: args['image-pull-secret'],
        priorityClass: args['priority-class'],
        mesh: args.mesh,
        preinstalled: !args.session,
        orphanSeconds: args.session ? parseSeconds(args['orphan-timeout'], '--orphan-timeout') : 0,
        maxBody: parseByteSize(args['max-body'], '--max-body'),
        maxMessages: 100,
        redact: args.redact,
        // A pre-installed stack serves every later session: these are fixed when it is made.
        redactHeaders: [],
        protoBundle: null,
      });
      process.stdout.write(stackYaml(objects));
    } catch (error) {
      reportAndExit(error);
    }
  },
};
