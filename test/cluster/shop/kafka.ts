// A stand-in Kafka broker (no Kafka is installed here): enough of the wire protocol for a
// producer — ApiVersions (v0-v2), Metadata (v0-v1) naming itself as the leader of every
// partition, and Produce (v0-v2, message sets) acknowledging each batch with a growing
// offset. It counts the messages it receives. Consumers are not supported.
import net from 'node:net';
import { count, startAdmin } from './lib.js';

const API_PRODUCE = 0;
const API_METADATA = 3;
const API_VERSIONS = 18;
const SUPPORTED: [number, number, number][] = [[API_PRODUCE, 0, 2], [API_METADATA, 0, 1], [API_VERSIONS, 0, 2]];
const MAX_FRAME = 1 << 20;

class Writer {
  private parts: Buffer[] = [];
  i8(v: number) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  i16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  i32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  i64(v: bigint) { const b = Buffer.alloc(8); b.writeBigInt64BE(v); this.parts.push(b); return this; }
  str(s: string | null) {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s);
    this.i16(b.length);
    this.parts.push(b);
    return this;
  }
  done(): Buffer { return Buffer.concat(this.parts); }
}

class Reader {
  constructor(private readonly b: Buffer, public at = 0) {}
  i16() { const v = this.b.readInt16BE(this.at); this.at += 2; return v; }
  i32() { const v = this.b.readInt32BE(this.at); this.at += 4; return v; }
  str(): string | null { const n = this.i16(); if (n < 0) return null; const s = this.b.toString('utf8', this.at, this.at + n); this.at += n; return s; }
  bytes(): Buffer { const n = this.i32(); const s = this.b.subarray(this.at, this.at + Math.max(0, n)); this.at += Math.max(0, n); return s; }
}

/** Messages in a v0/v1 message set: [offset int64][size int32][message], repeated. */
function countMessages(set: Buffer): number {
  let n = 0;
  let at = 0;
  while (at + 12 <= set.length) {
    const size = set.readInt32BE(at + 8);
    at += 12 + size;
    if (at <= set.length) n++;
  }
  return n;
}

export function startKafka(): void {
  startAdmin('kafka');
  const host = process.env.POD_IP ?? '127.0.0.1';
  const port = 9092;
  const offsets = new Map<string, bigint>();
  net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const size = buf.readInt32BE(0);
        if (size < 0 || size > MAX_FRAME) {
          count('bad_frames');
          sock.destroy();
          return;
        }
        if (buf.length < 4 + size) break;
        const frame = buf.subarray(4, 4 + size);
        buf = buf.subarray(4 + size);
        const reply = handle(frame);
        if (reply) {
          const head = Buffer.alloc(4);
          head.writeInt32BE(reply.length);
          sock.write(Buffer.concat([head, reply]));
        }
      }
    });
    sock.on('error', () => sock.destroy());
  }).listen(port, '0.0.0.0');
  console.log(`kafka stand-in on ${host}:${port}`);

  function handle(frame: Buffer): Buffer | undefined {
    const r = new Reader(frame);
    const apiKey = r.i16();
    const version = r.i16();
    const correlation = r.i32();
    r.str(); // client id
    const w = new Writer().i32(correlation);
    count(`requests_api_${apiKey}`);
    if (apiKey === API_VERSIONS) {
      const ok = version <= 2;
      w.i16(ok ? 0 : 35).i32(SUPPORTED.length);
      for (const [k, min, max] of SUPPORTED) w.i16(k).i16(min).i16(max);
      if (ok && version >= 1) w.i32(0);
      return w.done();
    }
    if (apiKey === API_METADATA) {
      const n = r.i32();
      const topics: string[] = [];
      for (let i = 0; i < n; i++) topics.push(r.str() ?? '');
      w.i32(1).i32(0).str(host).i32(port);
      if (version >= 1) w.str(null).i32(0);
      w.i32(topics.length);
      for (const t of topics) {
        w.i16(0).str(t);
        if (version >= 1) w.i8(0);
        w.i32(1).i16(0).i32(0).i32(0).i32(1).i32(0).i32(1).i32(0);
      }
      return w.done();
    }
    if (apiKey === API_PRODUCE) {
      const acks = r.i16();
      r.i32(); // timeout
      const nTopics = r.i32();
      const out: [string, [number, bigint][]][] = [];
      for (let i = 0; i < nTopics; i++) {
        const topic = r.str() ?? '';
        const nParts = r.i32();
        const parts: [number, bigint][] = [];
        for (let j = 0; j < nParts; j++) {
          const partition = r.i32();
          const messages = countMessages(r.bytes());
          const key = `${topic}/${partition}`;
          const base = offsets.get(key) ?? 0n;
          offsets.set(key, base + BigInt(messages));
          count('messages', messages);
          count(`topic_${topic}`, messages);
          parts.push([partition, base]);
        }
        out.push([topic, parts]);
      }
      if (acks === 0) return undefined;
      w.i32(out.length);
      for (const [topic, parts] of out) {
        w.str(topic).i32(parts.length);
        for (const [p, base] of parts) {
          w.i32(p).i16(0).i64(base);
          if (version >= 2) w.i64(-1n);
        }
      }
      if (version >= 1) w.i32(0);
      return w.done();
    }
    count('unsupported_requests');
    return undefined;
  }
}
