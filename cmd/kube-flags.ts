// The flags of the commands that talk to a cluster: kubectl's connection flags (same names,
// same meaning) and the stack's. Defined once, used by tap, clean and manifests.
import type { Argv } from 'yargs';
import { parseByteSize } from './flags.js';
import { UsageError } from '../src/errors.js';
import type { ConnectionFlags } from '../src/kube/kubeconfig.js';
import type { StackOptions } from '../src/kube/manifests.js';

export interface ConnectionArgs {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  'request-timeout': string;
  'tap-namespace': string;
}

export function withConnectionFlags<T>(y: Argv<T>): Argv<T & ConnectionArgs> {
  return y
    .option('kubeconfig', { type: 'string', describe: 'path to the kubeconfig file (default: $KUBECONFIG, several files merged, else ~/.kube/config)' })
    .option('context', { type: 'string', describe: 'the kubeconfig context to use' })
    .option('cluster', { type: 'string', describe: 'the kubeconfig cluster to use' })
    .option('user', { type: 'string', describe: 'the kubeconfig user to use' })
    .option('request-timeout', { type: 'string', default: '0', describe: 'how long to wait for one API request (0: no limit; 30s, 1m)' })
    .option('tap-namespace', { type: 'string', default: 'kubectl-tap', describe: 'the namespace the capture stack lives in' }) as unknown as Argv<T & ConnectionArgs>;
}

export function connectionFlags(args: ConnectionArgs): ConnectionFlags {
  return { kubeconfig: args.kubeconfig, context: args.context, cluster: args.cluster, user: args.user, requestTimeout: args['request-timeout'] };
}

export interface StackArgs {
  'tapper-image'?: string;
  'image-pull-secret': string[];
  'tapper-memory': string;
  'tapper-cpu': string;
  'node-selector'?: string;
  toleration: string[];
  'priority-class'?: string;
  mesh: string;
  'orphan-timeout': string;
  'node-max-rate': number;
}

export function withStackFlags<T>(y: Argv<T>): Argv<T & StackArgs> {
  return y
    .option('tapper-image', { type: 'string', describe: 'the tapper image (default kubectl-tap/tapper:VERSION)' })
    .option('image-pull-secret', { type: 'string', array: true, default: [] as string[], describe: 'a Secret in the tap namespace to pull the image with (repeatable)' })
    .option('tapper-memory', { type: 'string', default: '256Mi', describe: "each tapper's memory request and limit; its engine's budget is 70% of it" })
    .option('tapper-cpu', { type: 'string', default: '500m', describe: "each tapper's CPU limit" })
    .option('node-selector', { type: 'string', describe: 'only run tappers on nodes with these labels (key=value,...)' })
    .option('toleration', { type: 'string', array: true, default: [] as string[], describe: 'an extra toleration, key=value:Effect (the tappers tolerate every taint already)' })
    .option('priority-class', { type: 'string', describe: "the tappers' PriorityClass" })
    .option('mesh', { type: 'string', choices: ['auto', 'on', 'off'], default: 'auto', describe: 'capture the plaintext inside pods with a mesh sidecar (auto), inside every target pod (on), or never (off); unless off the tappers get SYS_ADMIN and SYS_PTRACE (docs/mesh.md)' })
    .option('orphan-timeout', { type: 'string', default: '10m', describe: 'if the CLI is killed, the stack removes itself after this long (0: never)' })
    .option('node-max-rate', { type: 'number', default: 0, describe: "entries per second each node's tapper sends at most; the rest are dropped there and counted (0: no cap)" }) as unknown as Argv<T & StackArgs>;
}

/** The stack's options from its flags, as `kubectl tap` and `kubectl tap manifests` both read them. */
export type StackFlagOptions = Omit<StackOptions, 'token' | 'sessionId' | 'preinstalled'>;

export interface StackOptionArgs extends StackArgs {
  'tap-namespace': string;
  'max-body': string;
  /** `manifests` has no --max-messages: its tappers keep the engine's default. */
  'max-messages'?: number;
  redact: boolean;
  /** `manifests` has neither: a pre-installed stack keeps the default headers and no types. */
  'redact-header'?: string[];
  proto?: string[];
}

/** withReaper: false for a pre-installable stack, which has no self-removal (--orphan-timeout is moot). */
export async function stackOptionsFrom(args: StackOptionArgs, withReaper = true): Promise<StackFlagOptions> {
  // Loaded when a command runs, not when the CLI starts (js-yaml and the templates).
  const { DEFAULT_TAPPER_IMAGE, parseNodeSelector, parseToleration } = await import('../src/kube/manifests.js');
  const { parseMeshMode } = await import('../src/kube/mesh-detect.js');
  return {
    namespace: args['tap-namespace'],
    image: args['tapper-image'] ?? DEFAULT_TAPPER_IMAGE,
    memoryBytes: memoryFlag(args['tapper-memory']),
    cpu: cpuFlag(args['tapper-cpu']),
    nodeSelector: parseNodeSelector(args['node-selector']),
    tolerations: args.toleration.map(parseToleration),
    imagePullSecrets: args['image-pull-secret'],
    priorityClass: args['priority-class'],
    mesh: parseMeshMode(args.mesh),
    orphanSeconds: withReaper ? parseSeconds(args['orphan-timeout'], '--orphan-timeout') : 0,
    maxBody: parseByteSize(args['max-body'], '--max-body'),
    maxMessages: args['max-messages'] ?? 100,
    maxRate: rateFlag(args['node-max-rate']),
    redact: args.redact,
    // A pre-installed stack (manifests without --session) serves every later session: no
    // per-session entry options. A session's own tappers get its --redact-header and --proto.
    redactHeaders: args['redact-header'] ?? [],
    protoBundle: args.proto !== undefined && args.proto.length > 0 ? (await import('../src/protocols/grpc/protos.js')).bundleProtos(args.proto) : null,
  };
}

/** "10m", "90s", "1h", "600" (seconds) -> seconds. */
export function parseSeconds(text: string, flag: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration like 90s, 10m or 1h, not "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

export function rateFlag(value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--node-max-rate must be a whole number of entries per second (0: no cap), not "${value}"`);
  return value;
}

export function memoryFlag(text: string): number {
  const bytes = parseByteSize(text, '--tapper-memory');
  if (bytes < 64 * 1024 * 1024) throw new UsageError('--tapper-memory must be at least 64Mi');
  return bytes;
}

export function cpuFlag(text: string): string {
  if (!/^(\d+m|\d+(\.\d+)?)$/.test(text)) throw new UsageError(`--tapper-cpu must be a quantity like 500m or 1, not "${text}"`);
  return text;
}

export interface ShorthandArgs {
  protocol: string[];
  'http-status': string[];
  method: string[];
  'path-prefix': string[];
  'from-pod': string[];
  'to-pod': string[];
  'from-service': string[];
  'to-service': string[];
  'from-namespace': string[];
  'to-namespace': string[];
}

/** Filters in the habit of `hubble observe`; each repeatable (values are alternatives), together they narrow. */
export function withShorthandFlags<T>(y: Argv<T>): Argv<T & ShorthandArgs> {
  const list = (describe: string) => ({ type: 'string' as const, array: true, default: [] as string[], describe });
  return y
    .option('protocol', list('only this protocol (http, grpc, redis, kafka, amqp, dns, tls)'))
    .option('http-status', list('only responses with this status or class (404, 5xx)'))
    .option('method', list('only requests with this method (GET, POST)'))
    .option('path-prefix', list('only requests whose path starts so (/api)'))
    .option('from-pod', list('only calls from pods named so ([namespace/]name prefix)'))
    .option('to-pod', list('only calls to pods named so ([namespace/]name prefix)'))
    .option('from-service', list('only calls from this Service ([namespace/]name)'))
    .option('to-service', list('only calls to this Service ([namespace/]name)'))
    .option('from-namespace', list('only calls from this namespace'))
    .option('to-namespace', list('only calls to this namespace'))
    .group(['protocol', 'http-status', 'method', 'path-prefix', 'from-pod', 'to-pod', 'from-service', 'to-service', 'from-namespace', 'to-namespace'], 'Shorthand filters (with --filter, all must hold):') as unknown as Argv<T & ShorthandArgs>;
}

export function shorthands(args: ShorthandArgs) {
  return {
    protocol: args.protocol, httpStatus: args['http-status'], method: args.method, pathPrefix: args['path-prefix'],
    fromPod: args['from-pod'], toPod: args['to-pod'], fromService: args['from-service'], toService: args['to-service'],
    fromNamespace: args['from-namespace'], toNamespace: args['to-namespace'],
  };
}
