// Test support for the HTTP/1 dissector: a recording TCP proxy on loopback (each chunk a
// real client or server wrote, with its direction and time), a fake StreamContext that
// collects what the dissector emits, and replay of recordings through a parser.

import net from 'node:net';
import { makeEntry, type Call, type Entry } from '../../src/entry.js';
import { Stats } from '../../src/stats.js';
import type { Dir, StreamContext, StreamParser } from '../../src/protocols/types.js';
import { recordingContext } from '../helpers/context.js';
import { http1Dissector } from '../../src/protocols/http1/dissector.js';

export interface Chunk {
  dir: Dir;
  data: Buffer;
  ts: number;
}

export interface Recording {
  chunks: Chunk[];
  endTs: number;
}

function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export interface RecordingProxy {
  port: number;
  /** Connections in the order they were accepted; complete once both sides closed. */
  connections: Recording[];
  /** Resolves when every connection accepted so far has closed on both sides. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const connections: Recording[] = [];
  const pending = new Set<Promise<void>>();
  const server = net.createServer((downstream) => {
    const rec: Recording = { chunks: [], endTs: 0 };
    connections.push(rec);
    const upstream = net.connect(targetPort, '127.0.0.1');
    let closed = 0;
    const done = new Promise<void>((resolve) => {
      const onClose = () => {
        closed++;
        if (closed === 2) {
          rec.endTs = nowMicros();
          resolve();
        }
      };
      downstream.on('close', onClose);
      upstream.on('close', onClose);
    });
    pending.add(done);
    downstream.on('data', (d: Buffer) => {
      rec.chunks.push({ dir: 0, data: Buffer.from(d), ts: nowMicros() });
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      rec.chunks.push({ dir: 1, data: Buffer.from(d), ts: nowMicros() });
      downstream.write(d);
    });
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    settled: async () => {
      await Promise.all([...pending]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Switch {
  protocol: string;
  init: unknown;
  received: Chunk[];
  ended: boolean;
}

export interface Harness {
  ctx: StreamContext;
  calls: Call[];
  stats: Stats;
  switches: Switch[];
  /** Calls as engine entries, for schema validation. */
  entries(): Entry[];
}

export function makeHarness(opts: { midstream?: boolean; maxBody?: number; acceptSwitch?: boolean } = {}): Harness {
  const switches: Switch[] = [];
  const ctx = recordingContext({
    midstream: opts.midstream,
    options: opts.maxBody === undefined ? {} : { maxBody: opts.maxBody },
    switchTo: (protocol, init) => {
      if (!opts.acceptSwitch) return null;
      const sw: Switch = { protocol, init, received: [], ended: false };
      switches.push(sw);
      // Stands in for the http2 parser: records what it is given.
      return {
        onData: (dir, data, ts) => void sw.received.push({ dir, data: Buffer.from(data), ts }),
        onGap: () => {},
        onEnd: () => {
          sw.ended = true;
        },
      };
    },
  });
  const { calls, stats, client, server } = ctx;
  return { ctx, calls, stats, switches, entries: () => calls.map((c) => makeEntry(c, client, server)) };
}

/** Feeds a recording to a fresh HTTP/1 parser; `split` re-cuts every chunk into pieces of that size. */
export function replay(rec: Recording, harness: Harness, split = 0): StreamParser {
  const parser = http1Dissector.create(harness.ctx);
  for (const chunk of rec.chunks) {
    if (split <= 0) parser.onData(chunk.dir, chunk.data, chunk.ts);
    else for (let i = 0; i < chunk.data.length; i += split) parser.onData(chunk.dir, chunk.data.subarray(i, i + split), chunk.ts);
  }
  parser.onEnd(rec.endTs);
  return parser;
}

/** The bytes of one direction, concatenated. */
export function directionBytes(rec: Recording, dir: Dir): Buffer {
  return Buffer.concat(rec.chunks.filter((c) => c.dir === dir).map((c) => c.data));
}
