// Output modes (-o): each is one printer over the same Entry, as in Hubble's observe.
// ndjson: one entry a line, exactly the schema. summary: one aligned human line an entry.
// The document modes (dot, har, openapi) print one document at the end: documents.ts.

import type { Endpoint, Entry } from '../entry.js';
import { entryJson } from './entry-json.js';

export type LineMode = 'ndjson' | 'summary';
export type DocumentMode = 'dot' | 'har' | 'openapi';
export type OutputMode = LineMode | DocumentMode;
export const OUTPUT_MODES: readonly OutputMode[] = ['ndjson', 'summary', 'dot', 'har', 'openapi'];

export function isLineMode(mode: OutputMode): mode is LineMode {
  return mode === 'ndjson' || mode === 'summary';
}

export type Printer = (entry: Entry) => string;

export function printerFor(mode: LineMode, colour: boolean): Printer {
  return mode === 'ndjson' ? entryJson : (entry) => summaryLine(entry, colour);
}

const ansi = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90 } as const;
type Colour = keyof typeof ansi;

function paint(text: string, colour: Colour, on: boolean): string {
  return on ? `\u001b[${ansi[colour]}m${text}\u001b[0m` : text;
}

const protocolColour: Record<Entry['protocol'], Colour> = {
  http: 'cyan',
  grpc: 'magenta',
  redis: 'red',
  kafka: 'yellow',
  amqp: 'green',
  dns: 'blue',
  tls: 'grey',
};

/** Summaries longer than this push the latency column right rather than being cut. */
const SUMMARY_WIDTH = 48;

/** `00:16:23.123456  http   10.0.0.1:51234 -> shop/frontend:8080   GET /cart -> 200   1.234 ms` */
export function summaryLine(entry: Entry, colour: boolean): string {
  const time = entry.timestamp.slice(11, 26);
  const protocol = paint(entry.protocol.padEnd(5), protocolColour[entry.protocol], colour);
  const route = `${endpointLabel(entry.src)} -> ${endpointLabel(entry.dst)}`.padEnd(44);
  const latency = entry.elapsedMs === null ? '-' : `${entry.elapsedMs.toFixed(3)} ms`;
  const failed = entry.error !== undefined || isFailure(entry);
  // Pad before painting: escape codes have no width on screen but count in padEnd.
  const text = `${entry.summary}${entry.incomplete ? ' (incomplete)' : ''}`.padEnd(SUMMARY_WIDTH);
  const summary = paint(text, failed ? 'red' : 'green', colour && (failed || entry.response !== null));
  return `${time}  ${protocol}  ${route}  ${summary}  ${latency.padStart(11)}`;
}

function endpointLabel(e: Endpoint): string {
  if (e.name) return `${e.namespace ? `${e.namespace}/` : ''}${e.name}:${e.port}`;
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function isFailure(entry: Entry): boolean {
  const r = entry.response;
  if (!r) return false;
  if (typeof r.status === 'number' && r.status >= 400) return true;
  if (typeof r.grpcStatus === 'number' && r.grpcStatus !== 0) return true;
  return r.error !== undefined && r.error !== null;
}
