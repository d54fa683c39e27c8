// The default command: `kubectl tap [POD_REGEX | TYPE/NAME]` taps pods until Ctrl-C.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../src/errors.js';
import { exitCodeOf, reportAndExit } from './exit.js';
import { sessionSpec, withEntryOptions, withSessionOptions, type EntryArgs, type SessionArgs } from './flags.js';
import { connectionFlags, shorthands, stackOptionsFrom, withConnectionFlags, withShorthandFlags, withStackFlags, type ConnectionArgs, type ShorthandArgs, type StackArgs } from './kube-flags.js';

interface TapArgs extends EntryArgs, SessionArgs, ConnectionArgs, StackArgs, ShorthandArgs {
  query?: string;
  pods?: string;
  namespace: string[];
  'all-namespaces': boolean;
  selector?: string;
  'exclude-pod': string[];
  'exclude-namespace': string[];
  node: string[];
  'use-installed': boolean;
  'dry-run': boolean;
  'show-noise': boolean;
}

export const tapCommand: CommandModule<object, TapArgs> = {
  command: '$0 [query]',
  describe: 'Tap pods: stream every API call they make or serve, one entry a line, until Ctrl-C',
  builder: (y: Argv) =>
    withStackFlags(withConnectionFlags(withShorthandFlags(withSessionOptions(withEntryOptions(y)))))
      .positional('query', { type: 'string', describe: 'a regex over pod names, or TYPE/NAME (deploy/cart, sts/db, ds/x, job/y, svc/frontend)' })
      .option('pods', { type: 'string', describe: 'a regex over pod names (the unambiguous form of QUERY, e.g. a pod called "read")' })
      .option('namespace', { alias: 'n', type: 'string', array: true, default: [] as string[], describe: "namespace to tap (repeatable; default: the context's)" })
      .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'tap every namespace' })
      .option('selector', { alias: 'l', type: 'string', describe: 'only pods with these labels (app=cart,tier!=db,env in (a,b))' })
      .option('exclude-pod', { type: 'string', array: true, default: [] as string[], describe: 'leave out pods whose name matches this regex (repeatable)' })
      .option('exclude-namespace', { type: 'string', array: true, default: [] as string[], describe: 'leave out this namespace (repeatable)' })
      .option('node', { type: 'string', array: true, default: [] as string[], describe: 'only pods on this node (repeatable)' })
      .option('use-installed', { type: 'boolean', default: false, describe: "use the stack an admin pre-installed (kubectl tap manifests) instead of installing one" })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the objects that would be created, create nothing' })
      .option('show-noise', { type: 'boolean', default: false, describe: "also show kubelet probes and the tappers' own traffic" })
      .example('$0 -n shop', 'every call of every pod in namespace shop, as NDJSON')
      .example('$0 deploy/frontend -n shop -o summary', "one line per call of frontend's pods")
      .example("$0 -A -f 'response.status >= 500'", 'server errors anywhere in the cluster (filtered on the nodes)')
      .example('$0 -n shop --to-service cart --protocol grpc', 'gRPC calls to the cart Service (names are matched in the CLI)')
      .example('$0 -A --http-status 5xx --method POST', 'failed POSTs, filtered on the nodes')
      .example('$0 -n shop | head -5', 'the first five calls, then clean up and exit 0')
      .example('$0 manifests | kubectl apply -f -', 'pre-install the stack; then: kubectl tap --use-installed')
      .epilogue(
        `A normal end (Ctrl-C, SIGTERM, SIGHUP, a closed stdout as in | head) is 0; missing rights or a tapper that ` +
          'cannot start is 1, after the stack is removed. If the CLI is killed outright, the stack removes itself after --orphan-timeout.',
      ) as unknown as Argv<TapArgs>,
  handler: async (args) => {
    try {
      // The tappers' engine gets the entry options as its arguments, so a pre-installed stack keeps its own.
      if (args['use-installed'] && (args.proto.length > 0 || args['redact-header'].length > 0)) {
        throw new UsageError('--proto and --redact-header are given to the tappers when a session installs them: not with --use-installed');
      }
      const { runTap } = await import('../src/kube/session.js');
      const code = await runTap({
        connection: connectionFlags(args),
        namespaces: args.namespace,
        allNamespaces: args['all-namespaces'],
        query: args.query,
        pods: args.pods,
        selector: args.selector,
        excludePods: args['exclude-pod'],
        excludeNamespaces: args['exclude-namespace'],
        nodes: args.node,
        stack: await stackOptionsFrom(args),
        useInstalled: args['use-installed'],
        dryRun: args['dry-run'],
        session: sessionSpec(args, args.output === 'summary' && process.stdout.isTTY === true, 'the cluster'),
        shorthands: shorthands(args),
        exitCodeOf,
        showNoise: args['show-noise'],
      });
      process.exit(code);
    } catch (error) {
      reportAndExit(error);
    }
  },
};
