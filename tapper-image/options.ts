// The daemon's flags (docs/tapper-api.md), each also read from the environment the
// DaemonSet sets (TAP_LISTEN, TAP_TOKEN_FILE, TAP_MEMORY_BUDGET, NODE_NAME from the
// downward API). Flags in, a checked TapperOptions out; nothing runs here.
import { hostname } from 'node:os';
import yargs from 'yargs';
import { parseByteSize } from '../cmd/flags.js';
import { DEFAULT_MAX_BODY } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import type { Pace } from '../src/capture/paced-file.js';

/**
 * Block mode by default. In immediate mode libpcap uses TPACKET_V2, one ring slot per packet,
 * each sized for the largest (64 KiB on interfaces with segmentation offload): a 32 MiB ring
 * held a few hundred packets, so a few ms of event-loop pause under load dropped packets in the kernel
 * (bench/live.ts: small JSON calls kept 99.9% only up to 500/s). With a wait, libpcap uses
 * TPACKET_V3, whose blocks pack packets at their real size (tens of thousands of small ones
 * in the same ring): 100% up to 2,500/s, each packet read at most 20 ms after its capture.
 * Entries carry capture timestamps, so the wait shifts when a line appears, never its figures.
 */
export const CAPTURE_WAIT_MS = 20;

export interface TapperOptions {
  host: string;
  port: number;
  tokenFile: string;
  nodeName: string;
  device: string;
  /** libpcap's block timeout in ms: 0 is immediate mode (see CAPTURE_WAIT_MS). */
  captureWaitMs: number;
  file: string | null;
  pace: Pace;
  memoryBudget: number;
  maxBody: number;
  maxMessages: number;
  redact: boolean;
  /** Headers redacted besides the default ones (lower case). */
  redactHeaders: string[];
  /** .proto files, folders or JSON descriptors for gRPC messages by name. */
  protoPaths: string[];
  consumerQueueBytes: number;
  /** Entries per second each /entries stream sends at most (0: no cap). */
  maxRate: number;
  heartbeatMs: number;
  /** The host's /proc (a read-only hostPath mount), where mesh capture finds pods' network namespaces. */
  hostProc: string;
}

export async function parseOptions(argv: string[]): Promise<TapperOptions> {
  const args = await yargs(argv)
    .scriptName('tapper')
    .env('TAP')
    .option('listen', { type: 'string', default: '0.0.0.0:8449', describe: 'ADDR:PORT to serve HTTPS on' })
    .option('token-file', { type: 'string', default: '/var/run/kubectl-tap/token', describe: 'the session token (a Secret volume)' })
    .option('node-name', { type: 'string', describe: "this node's name, stamped on entries (default $NODE_NAME, else the host name)" })
    .option('interface', { type: 'string', default: 'any', describe: 'capture interface' })
    .option('capture-wait', { type: 'number', default: CAPTURE_WAIT_MS, describe: 'ms a captured packet may wait in the kernel ring before it is read (0: immediate mode)' })
    .option('file', { type: 'string', describe: 'serve a pcap/pcapng file as if live instead of capturing' })
    .option('pace', { choices: ['recorded', 'fast'] as const, default: 'recorded' as const, describe: 'with --file: at its recorded pace or as fast as possible' })
    .option('memory-budget', { type: 'string', default: '256MiB', describe: "the engine's memory budget" })
    .option('max-body', { type: 'string', default: `${DEFAULT_MAX_BODY}`, describe: 'body bytes kept per entry' })
    .option('max-messages', { type: 'number', default: 100, describe: 'messages kept per streaming entry' })
    .option('redact', { type: 'boolean', default: true, describe: 'redact credentials (--no-redact turns it off)' })
    .option('redact-header', { type: 'string', array: true, default: [] as string[], describe: 'also redact this header (repeatable)' })
    .option('proto', { type: 'string', array: true, default: [] as string[], describe: '.proto file, folder or JSON descriptor for gRPC messages (repeatable)' })
    .option('consumer-queue', { type: 'string', default: '4MiB', describe: 'entries waiting per /entries stream at most, in bytes (the queues share an eighth of the memory budget)' })
    .option('max-rate', { type: 'number', default: 0, describe: 'entries per second each /entries stream sends at most; the rest are dropped and counted (0: no cap)' })
    .option('heartbeat', { type: 'number', default: 15, describe: 'seconds between heartbeat lines on an idle stream' })
    .option('host-proc', { type: 'string', default: '/host/proc', describe: "the host's /proc, to find meshed pods' network namespaces (docs/mesh.md)" })
    .strict()
    .help()
    .version(false)
    .fail((message, error) => {
      // yargs writes some messages over several lines ("Invalid values:\n  Argument: ..."): one line here.
      throw error ?? new UsageError(message.replace(/\s*\n\s*/g, ' '));
    })
    .parseAsync();

  const listen = /^(.*):(\d{1,5})$/.exec(args.listen);
  const port = listen ? Number(listen[2]) : NaN;
  if (!listen || port < 0 || port > 65535) throw new UsageError(`--listen must be ADDR:PORT, not "${args.listen}"`);
  const heartbeat = args.heartbeat;
  if (!(heartbeat > 0) || heartbeat > 15) throw new UsageError('--heartbeat must be a number of seconds in (0, 15]');
  if (!Number.isInteger(args['max-messages']) || args['max-messages'] < 1) throw new UsageError('--max-messages must be a positive integer');
  const nodeName = args['node-name'] ?? process.env.NODE_NAME ?? hostname();
  if (nodeName === '') throw new UsageError('--node-name must not be empty');
  const captureWait = args['capture-wait'];
  if (!Number.isInteger(captureWait) || captureWait < 0 || captureWait > 1000) throw new UsageError('--capture-wait must be a whole number of ms in [0, 1000]');
  const maxRate = args['max-rate'];
  if (!Number.isInteger(maxRate) || maxRate < 0) throw new UsageError('--max-rate must be a whole number of entries per second (0: no cap)');
  const memoryBudget = parseByteSize(args['memory-budget'], '--memory-budget');
  if (memoryBudget < 16 * 1024 * 1024) throw new UsageError('--memory-budget must be at least 16MiB');
  return {
    host: listen[1]!.replace(/^\[(.*)\]$/, '$1'),
    port,
    tokenFile: args['token-file'],
    nodeName,
    device: args.interface,
    captureWaitMs: captureWait,
    file: args.file ?? null,
    pace: args.pace,
    memoryBudget,
    maxBody: parseByteSize(args['max-body'], '--max-body'),
    maxMessages: args['max-messages'],
    redact: args.redact,
    redactHeaders: args['redact-header'].map((h) => h.toLowerCase()),
    protoPaths: args.proto,
    consumerQueueBytes: parseByteSize(args['consumer-queue'], '--consumer-queue'),
    maxRate,
    heartbeatMs: Math.round(heartbeat * 1000),
    hostProc: args['host-proc'],
  };
}
