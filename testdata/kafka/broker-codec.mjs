// Wire primitives of the stand-in broker (test-only): readers and writers for the Kafka
// protocol's fixed and "flexible" (KIP-482: compact strings/arrays/bytes as unsigned varint
// length+1, tagged-field sections) encodings. Every method takes the flexible flag of the
// API version being answered. Written from the protocol guide independently of src/, so the
// dissector is checked against a second implementation, not against itself.

export class In {
  constructor(b, pos = 0) { this.b = b; this.p = pos; }
  i8() { return this.b.readInt8(this.p++); }
  i16() { const v = this.b.readInt16BE(this.p); this.p += 2; return v; }
  i32() { const v = this.b.readInt32BE(this.p); this.p += 4; return v; }
  i64() { const v = this.b.readBigInt64BE(this.p); this.p += 8; return v; }
  uv() { let r = 0, s = 0, x; do { x = this.b[this.p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; }
  /** Length of a string/array/bytes: INT16/INT32 classic, uvarint-1 compact; -1 is null. */
  len(flex, wide) { return flex ? this.uv() - 1 : wide ? this.i32() : this.i16(); }
  str(flex) { const n = this.len(flex, false); if (n < 0) return null; const s = this.b.toString('utf8', this.p, this.p + n); this.p += n; return s; }
  bytes(flex) { const n = this.len(flex, true); if (n < 0) return null; const s = this.b.subarray(this.p, this.p + n); this.p += n; return s; }
  /** null for a null array. */
  arr(flex, f) { const n = this.len(flex, true); if (n < 0) return null; const out = []; for (let i = 0; i < n; i++) out.push(f()); return out; }
  tags(flex) { if (!flex) return; const n = this.uv(); for (let i = 0; i < n; i++) { this.uv(); this.p += this.uv(); } }
}

export class Out {
  constructor() { this.parts = []; }
  raw(b) { this.parts.push(b); return this; }
  i8(v) { const b = Buffer.alloc(1); b.writeInt8(v); return this.raw(b); }
  i16(v) { const b = Buffer.alloc(2); b.writeInt16BE(v); return this.raw(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32BE(v); return this.raw(b); }
  i64(v) { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return this.raw(b); }
  uv(v) { const out = []; do { let x = v & 0x7f; v >>>= 7; if (v) x |= 0x80; out.push(x); } while (v); return this.raw(Buffer.from(out)); }
  len(n, flex, wide) { return flex ? this.uv(n + 1) : wide ? this.i32(n) : this.i16(n); }
  str(s, flex) { if (s === null) return this.len(-1, flex, false); const b = Buffer.from(s); this.len(b.length, flex, false); return this.raw(b); }
  bytes(b, flex) { if (b === null) return this.len(-1, flex, true); this.len(b.length, flex, true); return this.raw(b); }
  arr(items, flex, f) { if (items === null) return this.len(-1, flex, true); this.len(items.length, flex, true); items.forEach(f); return this; }
  /** An empty tagged-field section (we never send tagged values). */
  tags(flex) { return flex ? this.uv(0) : this; }
  buf() { return Buffer.concat(this.parts); }
}
