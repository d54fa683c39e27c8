// A single-node stand-in Kafka broker for recording real clients' traffic (test-only). It
// answers ApiVersions (v0-3), Metadata (v0-5), Produce (v3), Fetch (v4) and ListOffsets (v1)
// with the wire encodings of the Kafka protocol guide, keeps produced record batches in
// memory and serves them back to consumers. There is no Kafka broker in Debian or npm, so
// this lets kafkajs and kcat (librdkafka) send their own, real request bytes.
// Deliberately independent of src/: it must not share a bug with the dissector it feeds.
// Usage: node stand-in-broker.mjs PORT   (exits on SIGTERM/SIGINT)
import net from 'node:net';

const port = Number(process.argv[2] ?? 19092);
const host = '127.0.0.1';
const supported = { 0: [3, 3], 1: [4, 4], 2: [1, 1], 3: [0, 5], 18: [0, 3] };
const flexibleFrom = { 18: 3 };
const log = new Map(); // "topic/partition" -> { batches: Buffer[], next: number }

class In {
  constructor(b, pos = 0) { this.b = b; this.p = pos; }
  i8() { return this.b.readInt8(this.p++); }
  i16() { const v = this.b.readInt16BE(this.p); this.p += 2; return v; }
  i32() { const v = this.b.readInt32BE(this.p); this.p += 4; return v; }
  i64() { const v = this.b.readBigInt64BE(this.p); this.p += 8; return v; }
  uv() { let r = 0, s = 0, x; do { x = this.b[this.p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r; }
  str() { const n = this.i16(); if (n < 0) return null; const s = this.b.toString('utf8', this.p, this.p + n); this.p += n; return s; }
  bytes() { const n = this.i32(); if (n < 0) return null; const s = this.b.subarray(this.p, this.p + n); this.p += n; return s; }
  arr(f) { const n = this.i32(); const out = []; for (let i = 0; i < n; i++) out.push(f()); return out; }
}

class Out {
  constructor() { this.parts = []; }
  i8(v) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  i16(v) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  i64(v) { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); this.parts.push(b); return this; }
  uv(v) { const out = []; do { let x = v & 0x7f; v >>>= 7; if (v) x |= 0x80; out.push(x); } while (v); this.parts.push(Buffer.from(out)); return this; }
  str(s) { if (s === null) return this.i16(-1); const b = Buffer.from(s); this.i16(b.length); this.parts.push(b); return this; }
  bytes(b) { if (b === null) return this.i32(-1); this.i32(b.length); this.parts.push(b); return this; }
  arr(items, f) { this.i32(items.length); items.forEach(f); return this; }
  buf() { return Buffer.concat(this.parts); }
}

function partitionLog(topic, partition) {
  const k = `${topic}/${partition}`;
  if (!log.has(k)) log.set(k, { batches: [], next: 0 });
  return log.get(k);
}

function apiVersions(v, out) {
  out.i16(0);
  const keys = Object.entries(supported);
  const flex = v >= 3;
  if (flex) out.uv(keys.length + 1); else out.i32(keys.length);
  for (const [k, [min, max]] of keys) { out.i16(Number(k)).i16(min).i16(max); if (flex) out.uv(0); }
  if (v >= 1) out.i32(0);
  if (flex) out.uv(0);
}

function metadata(v, r, out) {
  const names = r.arr(() => r.str());
  const topics = names.length > 0 ? names : [...new Set([...log.keys()].map((k) => k.split('/')[0]))];
  for (const t of topics) partitionLog(t, 0);
  if (v >= 3) out.i32(0);
  out.arr([0], () => { out.i32(0).str(host).i32(port); if (v >= 1) out.str(null); });
  if (v >= 2) out.str('stand-in-cluster');
  if (v >= 1) out.i32(0);
  out.arr(topics, (t) => {
    out.i16(0).str(t);
    if (v >= 1) out.i8(0);
    out.arr([0], () => {
      out.i16(0).i32(0).i32(0);
      out.arr([0], () => out.i32(0)).arr([0], () => out.i32(0));
      if (v >= 5) out.arr([], () => {});
    });
  });
}

function produce(v, r, out) {
  r.str(); // transactional_id
  const acks = r.i16();
  r.i32();
  const results = r.arr(() => {
    const topic = r.str();
    return [topic, r.arr(() => {
      const partition = r.i32();
      const records = r.bytes() ?? Buffer.alloc(0);
      const pl = partitionLog(topic, partition);
      const base = pl.next;
      for (let p = 0; p + 61 <= records.length; ) {
        const len = records.readInt32BE(p + 8);
        const batch = Buffer.from(records.subarray(p, p + 12 + len));
        batch.writeBigInt64BE(BigInt(pl.next), 0); // the broker assigns offsets
        pl.next += batch.readInt32BE(23) + 1; // lastOffsetDelta + 1
        pl.batches.push(batch);
        p += 12 + len;
      }
      return [partition, base];
    })];
  });
  if (acks === 0) return false;
  out.arr(results, ([topic, parts]) => {
    out.str(topic);
    out.arr(parts, ([partition, base]) => out.i32(partition).i16(0).i64(base).i64(-1));
  });
  out.i32(0);
  return true;
}

function fetch(v, r, out) {
  r.i32(); r.i32(); r.i32(); r.i32(); r.i8();
  const topics = r.arr(() => [r.str(), r.arr(() => { const p = r.i32(); const off = Number(r.i64()); r.i32(); return [p, off]; })]);
  out.i32(0);
  out.arr(topics, ([topic, parts]) => {
    out.str(topic);
    out.arr(parts, ([partition, offset]) => {
      const pl = partitionLog(topic, partition);
      const batches = pl.batches.filter((b) => Number(b.readBigInt64BE(0)) + b.readInt32BE(23) >= offset);
      out.i32(partition).i16(offset > pl.next ? 1 : 0).i64(pl.next).i64(pl.next).i32(0);
      out.bytes(Buffer.concat(batches));
    });
  });
}

function listOffsets(v, r, out) {
  r.i32();
  const topics = r.arr(() => [r.str(), r.arr(() => [r.i32(), Number(r.i64())])]);
  out.arr(topics, ([topic, parts]) => {
    out.str(topic);
    out.arr(parts, ([partition, ts]) => {
      const pl = partitionLog(topic, partition);
      out.i32(partition).i16(0).i64(-1).i64(ts === -2 ? 0 : pl.next);
    });
  });
}

function handle(frame, sock) {
  const r = new In(frame);
  const key = r.i16(), v = r.i16(), corr = r.i32();
  r.str(); // client id
  const flex = v >= (flexibleFrom[key] ?? Infinity);
  if (flex) { const n = r.uv(); for (let i = 0; i < n; i++) { r.uv(); r.p += r.uv(); } }
  const out = new Out().i32(corr); // ApiVersions always answers with header v0
  const range = supported[key];
  if (!range || v < range[0] || v > range[1]) {
    if (key === 18) { new Out(); out.parts.length = 1; out.i16(35).arr([], () => {}); } // UNSUPPORTED_VERSION, v0 body
    else { sock.destroy(); return; }
  } else if (key === 18) apiVersions(v, out);
  else if (key === 3) metadata(v, r, out);
  else if (key === 0) { if (!produce(v, r, out)) return; }
  else if (key === 1) fetch(v, r, out);
  else if (key === 2) listOffsets(v, r, out);
  const body = out.buf();
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  sock.write(Buffer.concat([size, body]));
}

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const n = buf.readInt32BE(0);
      handle(buf.subarray(4, 4 + n), sock);
      buf = buf.subarray(4 + n);
    }
  });
  sock.on('error', () => {});
});
server.listen(port, host, () => process.stdout.write(`listening ${port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
