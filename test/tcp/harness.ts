// Test helpers for the TCP assembler: a recording StreamParser, a TCP packet builder with
// real-looking sequence numbers, a seeded PRNG, and the exact-stream check (delivered bytes
// equal the original except exactly at reported gaps).
import assert from 'node:assert/strict';
import type { Packet } from '../../src/decode/packet.js';
import { TcpFlag } from '../../src/decode/packet.js';
import type { Dir, StreamParser } from '../../src/protocols/types.js';
import type { ConnectionInfo } from '../../src/tcp/assembler.js';

export type StreamEvent = { kind: 'data'; bytes: Buffer } | { kind: 'gap'; missing: number };

/** Everything one connection's parser was told. */
export class RecordedConnection implements StreamParser {
  readonly events: [StreamEvent[], StreamEvent[]] = [[], []];
  ended = false;
  endCount = 0;
  constructor(readonly info: ConnectionInfo) {}
  onData(dir: Dir, data: Buffer): void {
    assert.equal(this.ended, false, 'onData after onEnd');
    this.events[dir].push({ kind: 'data', bytes: Buffer.from(data) });
  }
  onGap(dir: Dir, missing: number): void {
    assert.equal(this.ended, false, 'onGap after onEnd');
    assert.ok(missing > 0, 'gap of zero or negative bytes');
    this.events[dir].push({ kind: 'gap', missing });
  }
  onEnd(): void {
    this.ended = true;
    this.endCount++;
  }
  bytes(dir: Dir): Buffer {
    return Buffer.concat(this.events[dir].flatMap((e) => (e.kind === 'data' ? [e.bytes] : [])));
  }
  gapBytes(dir: Dir): number {
    return this.events[dir].reduce((n, e) => n + (e.kind === 'gap' ? e.missing : 0), 0);
  }
}

export function recorder(): { open: (info: ConnectionInfo) => StreamParser; connections: RecordedConnection[] } {
  const connections: RecordedConnection[] = [];
  return {
    connections,
    open(info) {
      const c = new RecordedConnection(info);
      connections.push(c);
      return c;
    },
  };
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Endpoints {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
}

export const defaultEndpoints: Endpoints = { clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 8080 };

/** Builds packets of one connection; dir 0 is client to server. */
export class PacketFactory {
  ts = 1_700_000_000_000_000;
  constructor(readonly ep: Endpoints = defaultEndpoints) {}
  packet(dir: Dir, seq: number, flags: number, payload: Buffer = Buffer.alloc(0), ack = 0): Packet {
    const ep = this.ep;
    this.ts += 10;
    const c2s = dir === 0;
    return {
      tsMicros: this.ts,
      ipVersion: ep.clientIp.includes(':') ? 6 : 4,
      srcIp: c2s ? ep.clientIp : ep.serverIp,
      dstIp: c2s ? ep.serverIp : ep.clientIp,
      transport: 'tcp',
      srcPort: c2s ? ep.clientPort : ep.serverPort,
      dstPort: c2s ? ep.serverPort : ep.clientPort,
      seq: seq >>> 0,
      ack: ack >>> 0,
      flags,
      payload,
    };
  }
}

export interface Segment {
  /** Offset of the first byte in the stream. */
  offset: number;
  bytes: Buffer;
}

/** Cut `stream` into consecutive segments of 1..maxSize bytes. */
export function cut(stream: Buffer, random: () => number, maxSize = 1460): Segment[] {
  const out: Segment[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const size = Math.min(stream.length - offset, 1 + Math.floor(random() * maxSize));
    out.push({ offset, bytes: stream.subarray(offset, offset + size) });
    offset += size;
  }
  return out;
}

/**
 * Check a direction's events against the original stream: every data chunk equals the
 * original at the current position, every gap skips forward; returns the gap ranges.
 */
export function checkStream(events: readonly StreamEvent[], original: Buffer, label: string): Array<[number, number]> {
  let pos = 0;
  const gaps: Array<[number, number]> = [];
  for (const e of events) {
    if (e.kind === 'gap') {
      gaps.push([pos, pos + e.missing]);
      pos += e.missing;
    } else {
      assert.ok(pos + e.bytes.length <= original.length, `${label}: delivered past the end (${pos}+${e.bytes.length} > ${original.length})`);
      if (!e.bytes.equals(original.subarray(pos, pos + e.bytes.length))) {
        assert.fail(`${label}: bytes at ${pos}..${pos + e.bytes.length} differ from the original`);
      }
      pos += e.bytes.length;
    }
  }
  assert.equal(pos, original.length, `${label}: delivered + gaps = ${pos}, original has ${original.length}`);
  return gaps;
}

export const F = TcpFlag;
