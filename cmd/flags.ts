// Flags shared by the commands that produce entries (`read` and the live `tap`): defined
// once here, so both accept the same output, filter and CI options with the same meaning.
import type { Argv } from 'yargs';
import { UsageError } from '../src/errors.js';
import type { SessionSpec } from '../src/sink/session.js';
import { OUTPUT_MODES, type OutputMode } from '../src/sink/printers.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, ki: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, mi: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3, gi: 1024 ** 3,
};

/** "65536", "64KiB", "1M", "256Mi" (Kubernetes quantities too) -> bytes. */
export function parseByteSize(text: string, flag: string): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${flag} must be a size like 65536, 64KiB or 1MiB, not "${text}"`);
  return Number(match[1]) * unit;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "2m", "1h30m", "500ms" -> milliseconds (kubectl's duration syntax; a bare number is seconds). */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text) ? [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)] : [];
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit]!, 0);
  if (parts.length === 0 || !(ms > 0)) throw new UsageError(`${flag} must be a duration like 30s, 5m or 1h, not "${text}"`);
  return ms;
}

/**
 * yargs-parser reads a lone '-' as an empty flag, so main.ts renames it to this before
 * parsing (no real argument contains a NUL) and commands map it back to stdin.
 */
export const STDIN_ARG = '\u0000stdin';

export interface EntryArgs {
  'max-body': string;
  'max-messages': number;
  redact: boolean;
  'redact-header': string[];
  proto: string[];
}

/** What goes into an entry: body and message bounds, redaction, .proto files. */
export function withEntryOptions<T>(y: Argv<T>): Argv<T & EntryArgs> {
  return y
    .option('max-body', { type: 'string', default: '64KiB', describe: 'body bytes kept per entry (sizes stay exact)' })
    .option('max-messages', { type: 'number', default: 100, describe: 'messages kept per streaming entry (gRPC streams)' })
    .option('redact', { type: 'boolean', default: true, describe: 'redact credentials (use --no-redact to turn off)' })
    .option('redact-header', { type: 'string', array: true, default: [] as string[], describe: 'also redact this header (repeatable)' })
    .option('proto', { type: 'string', array: true, default: [] as string[], describe: '.proto file or folder for named gRPC decoding (repeatable)' })
    .group(['max-body', 'max-messages', 'redact', 'redact-header', 'proto'], 'Entries:') as unknown as Argv<T & EntryArgs>;
}

export interface SessionArgs {
  filter?: string;
  output: OutputMode;
  'service-map'?: string;
  'pcap-out'?: string;
  limit?: number;
  duration?: string;
  'wait-for'?: string;
  'fail-on'?: string;
  strict: boolean;
  'summary-json'?: string;
  quiet: boolean;
}

/** Which entries, printed how, and when the session ends (CI mode). */
export function withSessionOptions<T>(y: Argv<T>): Argv<T & SessionArgs> {
  return y
    .option('filter', { alias: 'f', type: 'string', describe: 'JSONata expression; only entries for which it is true are reported' })
    .option('output', {
      alias: 'o',
      choices: OUTPUT_MODES,
      default: 'ndjson' as OutputMode,
      describe: 'ndjson: an entry a line; summary: a human line an entry; at the end only: dot (the service map), har (HTTP calls), openapi (a document per service, one a line)',
    })
    .option('service-map', { type: 'string', describe: 'keep the service map in FILE: Graphviz DOT, or SVG when FILE ends in .svg' })
    .option('pcap-out', { type: 'string', describe: 'also write the packets of the reported calls to FILE as pcapng (not redacted)' })
    .option('limit', { type: 'number', describe: 'stop after N entries that passed --filter' })
    .option('duration', { type: 'string', describe: 'end the session after this long (30s, 5m, 1h)' })
    .option('wait-for', { type: 'string', describe: 'JSONata: exit 0 as soon as an entry matches; exit 3 if none did by the end' })
    .option('fail-on', { type: 'string', describe: 'JSONata: exit 4 as soon as an entry matches (e.g. response.status >= 500)' })
    .option('strict', { type: 'boolean', default: false, describe: 'exit 5 if the session lost data (gaps, drops)' })
    .option('summary-json', { type: 'string', describe: 'write the end-of-run summary as JSON to FILE' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no end-of-run summary on stderr' })
    .group(['filter', 'output', 'service-map', 'pcap-out', 'quiet'], 'Output:')
    .group(['limit', 'duration', 'wait-for', 'fail-on', 'strict', 'summary-json'], 'CI (exit codes below):') as unknown as Argv<T & SessionArgs>;
}

/** `source` names the interfaces of --pcap-out: the capture file, or the node. */
export function sessionSpec(args: SessionArgs, colour: boolean, source?: string): SessionSpec {
  if (args.limit !== undefined && !(Number.isInteger(args.limit) && args.limit >= 1)) throw new UsageError(`--limit must be a positive integer, not "${args.limit}"`);
  return {
    filter: args.filter,
    output: args.output,
    serviceMap: args['service-map'],
    pcapOut: args['pcap-out'],
    pcapSource: source,
    limit: args.limit,
    durationMs: args.duration === undefined ? undefined : parseDuration(args.duration, '--duration'),
    waitFor: args['wait-for'],
    failOn: args['fail-on'],
    strict: args.strict,
    summaryJson: args['summary-json'],
    quiet: args.quiet,
    colour,
  };
}
