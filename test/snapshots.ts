// The expected files that are snapshots of the engine's own output: the key fields of every
// entry of a capture of real traffic, written once, reviewed by hand against what the
// recording did, and kept to catch any change in what the engine makes of the same bytes.
// Each has an independent check of its own in its test (tshark's counts per method, command,
// request stream or status), so a snapshot taken from a broken engine does not go unseen.
//
// The projection here is the one the tests compare with, and the one
// scripts/regenerate-snapshots.ts writes: after a deliberate change to a dissector, run
//   node --import tsx scripts/regenerate-snapshots.ts [FILE...]
// and review the diff of testdata/ like code.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Entry } from '../src/entry.js';
import { entriesFromCapture } from './helpers/engine.js';

export const testdata = fileURLToPath(new URL('../testdata/', import.meta.url));
type AnyRecord = Record<string, any>;

/** AMQP and Redis: the summary, the reply's type, and which side spoke first when the server did. */
export function amqpKeyFields(e: Entry, serverPort: number): AnyRecord {
  const r: AnyRecord = { summary: e.summary };
  if (e.response) r.type = (e.response as AnyRecord).method;
  if (e.src.port === serverPort) r.fromServer = true;
  return r;
}

export function redisKeyFields(e: Entry, serverPort: number): AnyRecord {
  const r: AnyRecord = { summary: e.summary };
  if (e.response) r.type = (e.response as AnyRecord).type;
  if ((e.request as AnyRecord).key !== undefined) r.key = (e.request as AnyRecord).key;
  if (e.src.port === serverPort) r.fromServer = true;
  return r;
}

export function grpcKeyFields(e: AnyRecord): AnyRecord {
  return {
    protocol: e.protocol,
    summary: e.summary,
    status: e.response?.status ?? null,
    grpcStatus: e.response?.grpcStatus ?? null,
    requestMessages: e.request.messageCount,
    responseMessages: e.response?.messageCount ?? null,
    ...(e.error ? { error: e.error } : {}),
    ...(e.incomplete ? { incomplete: true } : {}),
  };
}

export function http2KeyFields(e: AnyRecord): AnyRecord {
  return {
    protocol: e.protocol,
    summary: e.summary,
    status: e.response?.status ?? null,
    responseBodySize: e.response?.bodySize ?? null,
    ...(e.error ? { error: e.error } : {}),
    ...(e.incomplete ? { incomplete: true } : {}),
  };
}

export const AMQP_PORT = 15699;
export const REDIS_PORT = 16391;
export const REDIS_CAPTURES = ['commands', 'inline', 'resp3', 'pubsub', 'big'];

async function entries(capture: string): Promise<Entry[]> {
  return (await entriesFromCapture(join(testdata, capture))).entries;
}

/** Every snapshot file, and how to make it again from its capture(s). */
export const SNAPSHOTS: Record<string, { provenance: string; make: () => Promise<unknown> }> = {
  'amqp/expected.json': {
    provenance: 'amqp/session.pcap (amqplib against rabbitmq-server, record.sh); independent check: per-method counts against tshark (amqp.test.ts)',
    make: async () => ({ session: (await entries('amqp/session.pcap')).map((e) => amqpKeyFields(e, AMQP_PORT)) }),
  },
  'redis/expected.json': {
    provenance: 'redis/*.pcap (redis-cli, redis-benchmark and a raw socket against redis-server, record.sh); independent check: per-command counts against tshark (redis.test.ts)',
    make: async () => {
      const out: AnyRecord = {};
      for (const name of REDIS_CAPTURES) out[name] = (await entries(`redis/${name}.pcap`)).map((e) => redisKeyFields(e, REDIS_PORT));
      return out;
    },
  },
  'grpc/calls.expected.json': {
    provenance: 'grpc/calls.pcap (@grpc/grpc-js client and server, record.ts); independent check: request streams and statuses against tshark (grpc-captures.test.ts)',
    make: async () => (await entries('grpc/calls.pcap')).map(grpcKeyFields),
  },
  'http2/node.expected.json': {
    provenance: 'http2/node.pcap (node:http2 client and server, record.ts); independent check: request streams and :status counts against tshark (http2-captures.test.ts)',
    make: async () => (await entries('http2/node.pcap')).map(http2KeyFields),
  },
};

/** One entry a line: diffs of a regenerated snapshot show the entries that changed. */
export function formatSnapshot(value: unknown): string {
  const lines = (list: unknown[], indent: string) => list.map((x) => `${indent}${JSON.stringify(x)}`).join(',\n');
  if (Array.isArray(value)) return `[\n${lines(value, '  ')}\n]\n`;
  const parts = Object.entries(value as AnyRecord).map(([k, list]) => `  ${JSON.stringify(k)}: [\n${lines(list as unknown[], '    ')}\n  ]`);
  return `{\n${parts.join(',\n')}\n}\n`;
}
