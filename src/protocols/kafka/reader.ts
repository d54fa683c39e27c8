// A bounds-checked cursor over one Kafka frame. Every read checks the remaining length and
// every array/string length is checked against the bytes left, so a corrupt length can never
// make the decoder allocate or loop beyond the frame. Malformed input throws KafkaDecodeError,
// which the stream parser catches: nothing escapes the dissector.

export class KafkaDecodeError extends Error {
  override name = 'KafkaDecodeError';
}

export class KafkaReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    /** Not readonly: one reader is moved from record to record of a batch (see records.ts). */
    public end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new KafkaDecodeError(`need ${n} bytes at ${this.pos}, have ${this.remaining}`);
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** INT64 as a number; offsets and timestamps fit a double exactly up to 2^53. */
  int64(): number {
    this.need(8);
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Unsigned LEB128 varint (at most 5 bytes for 32-bit values). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new KafkaDecodeError('varint too long');
  }

  /** Zigzag-encoded signed varint (records use these for lengths and deltas). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /**
   * Zigzag varlong (timestamp and offset deltas); up to 10 bytes, kept as a double. Up to 7
   * bytes (49 bits, every delta a record batch really holds) it is read with doubles, which
   * are exact there; BigInt arithmetic for each record's timestamp was 3% of the Kafka
   * bench run. Longer ones are read again the exact way.
   */
  varlong(): number {
    const start = this.pos;
    let u = 0;
    for (let i = 0, scale = 1; i < 7; i++, scale *= 128) {
      this.need(1);
      const b = this.buf[this.pos++];
      u += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    this.pos = start;
    return this.bigVarlong();
  }

  private bigVarlong(): number {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number((result >> 1n) ^ -(result & 1n));
      shift += 7n;
    }
    throw new KafkaDecodeError('varlong too long');
  }

  private text(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  private slice(len: number): Buffer {
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  /** STRING / NULLABLE_STRING, or COMPACT_(NULLABLE_)STRING when `compact`. */
  string(compact: boolean): string | null {
    const len = compact ? this.uvarint() - 1 : this.int16();
    if (len < 0) return null;
    return this.text(len);
  }

  /** BYTES / NULLABLE_BYTES, or the compact forms. */
  bytes(compact: boolean): Buffer | null {
    const len = compact ? this.uvarint() - 1 : this.int32();
    if (len < 0) return null;
    return this.slice(len);
  }

  /**
   * Record-style bytes without a Buffer for them: their length (-1 for null), the cursor
   * left on their first byte; the caller reads them in place and calls skip(length).
   */
  varBytesLength(): number {
    const len = this.varint();
    if (len >= 0) this.need(len);
    return len;
  }

  /** Record-style bytes: varint length, -1 for null. */
  varBytes(): Buffer | null {
    const len = this.varint();
    if (len < 0) return null;
    return this.slice(len);
  }

  /** ARRAY (INT32 count) or COMPACT_ARRAY (uvarint count+1); null for a null array. */
  arrayLength(compact: boolean, minElementSize = 1): number | null {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n < 0) return null;
    // Each element takes at least minElementSize bytes: a count beyond that is corrupt.
    if (n * minElementSize > this.remaining) throw new KafkaDecodeError(`array of ${n} does not fit ${this.remaining} bytes`);
    return n;
  }

  array<T>(compact: boolean, item: () => T, minElementSize = 1): T[] {
    const n = this.arrayLength(compact, minElementSize) ?? 0;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }

  /** Skip a tagged-field section (flexible versions): we keep none of the tagged values. */
  taggedFields(flexible: boolean): void {
    if (!flexible) return;
    const n = this.uvarint();
    if (n > this.remaining) throw new KafkaDecodeError('tagged field count too large');
    for (let i = 0; i < n; i++) {
      this.uvarint(); // tag
      this.skip(this.uvarint());
    }
  }
}
