// Decoding of AMQP 0-9-1 method arguments, field tables and basic content properties into
// JSON (see spec.ts for why this is written here). Strict: reading past the frame or an
// unknown field-value type throws AmqpError, which the session counts and skips.

import { textOfRange } from '../body.js';
import { type ArgType, BASIC_PROPERTIES, type MethodSpec } from './spec.js';

export class AmqpError extends Error {
  override name = 'AmqpError';
}

/** Nesting of tables and arrays inside a table; deeper is treated as malformed. */
const MAX_TABLE_DEPTH = 16;

export class FieldReader {
  pos: number;
  private bitByte = 0;
  private bitIndex = 8;

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new AmqpError('argument runs past the frame');
  }

  octet(): number {
    this.bitIndex = 8;
    this.need(1);
    return this.buf[this.pos++];
  }

  short(): number {
    this.bitIndex = 8;
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  long(): number {
    this.bitIndex = 8;
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  longlong(): number | string {
    this.bitIndex = 8;
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }

  /** Consecutive bit arguments share octets, lowest bit first. */
  bit(): boolean {
    if (this.bitIndex === 8) {
      this.need(1);
      this.bitByte = this.buf[this.pos++];
      this.bitIndex = 0;
    }
    return ((this.bitByte >> this.bitIndex++) & 1) === 1;
  }

  shortstr(): string {
    const len = this.octet();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  longstrBytes(): Buffer {
    const len = this.long();
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  table(depth = 0): Record<string, unknown> {
    if (depth > MAX_TABLE_DEPTH) throw new AmqpError('field table nested too deep');
    const len = this.long();
    this.need(len);
    const end = this.pos + len;
    const inner = new FieldReader(this.buf, this.pos, end);
    const out: Record<string, unknown> = {};
    while (inner.pos < end) {
      const key = inner.shortstr();
      out[key] = inner.fieldValue(depth);
    }
    this.pos = end;
    return out;
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_TABLE_DEPTH) throw new AmqpError('field array nested too deep');
    const len = this.long();
    this.need(len);
    const end = this.pos + len;
    const inner = new FieldReader(this.buf, this.pos, end);
    const out: unknown[] = [];
    while (inner.pos < end) out.push(inner.fieldValue(depth));
    this.pos = end;
    return out;
  }

  /** One typed value of a field table or array (RabbitMQ's type letters). */
  fieldValue(depth: number): unknown {
    const type = String.fromCharCode(this.octet());
    const b = this.buf;
    const at = this.pos;
    const take = <T>(n: number, read: () => T): T => {
      this.need(n);
      const v = read();
      this.pos += n;
      return v;
    };
    switch (type) {
      case 't': return take(1, () => b[at] !== 0);
      case 'b': return take(1, () => b.readInt8(at));
      case 'B': return take(1, () => b[at]);
      case 's': return take(2, () => b.readInt16BE(at));
      case 'u': return take(2, () => b.readUInt16BE(at));
      case 'I': return take(4, () => b.readInt32BE(at));
      case 'i': return take(4, () => b.readUInt32BE(at));
      case 'l': return take(8, () => safe(b.readBigInt64BE(at)));
      case 'f': return take(4, () => b.readFloatBE(at));
      case 'd': return take(8, () => b.readDoubleBE(at));
      case 'D': return take(5, () => b.readInt32BE(at + 1) / 10 ** b[at]);
      case 'T': return take(8, () => safe(b.readBigUInt64BE(at)));
      case 'S': return text(this.longstrBytes());
      case 'x': return this.longstrBytes().toString('base64');
      case 'A': return this.array(depth + 1);
      case 'F': return this.table(depth + 1);
      case 'V': return null;
      default: throw new AmqpError(`unknown field value type ${JSON.stringify(type)}`);
    }
  }

  read(type: ArgType): unknown {
    switch (type) {
      case 'octet': return this.octet();
      case 'short': return this.short();
      case 'long': return this.long();
      case 'longlong': return this.longlong();
      case 'timestamp': return this.longlong();
      case 'shortstr': return this.shortstr();
      case 'longstr': return text(this.longstrBytes());
      case 'bit': return this.bit();
      case 'table': return this.table();
    }
  }
}

function safe(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Long strings are bytes: text as UTF-8, anything else base64. */
function text(bytes: Buffer): string {
  return textOfRange(bytes, 0, bytes.length) ?? bytes.toString('base64');
}

/** The method's arguments in a method frame's payload after the class and method ids. */
export function decodeArgs(spec: MethodSpec, payload: Buffer, start: number): Record<string, unknown> {
  const r = new FieldReader(payload, start, payload.length);
  const out: Record<string, unknown> = {};
  for (const [name, type] of spec.args) {
    const v = r.read(type);
    if (name[0] !== '_') out[name] = v;
  }
  return out;
}

export interface ContentHeader {
  classId: number;
  bodySize: number;
  properties: Record<string, unknown>;
}

/** A content header frame: class, weight, body size, property flags, then the set properties. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  const r = new FieldReader(payload, 0, payload.length);
  const classId = r.short();
  r.short(); // weight, always 0
  const size = r.longlong();
  const bodySize = typeof size === 'number' ? size : Number.MAX_SAFE_INTEGER;
  const flags = r.short();
  // Bit 0 of a flags word says another flags word follows (never for basic's 14 properties).
  for (let more = flags & 1; more; ) more = r.short() & 1;
  const properties: Record<string, unknown> = {};
  if (classId !== 60) return { classId, bodySize, properties };
  for (let i = 0; i < BASIC_PROPERTIES.length; i++) {
    if ((flags & (1 << (15 - i))) === 0) continue;
    const [name, type] = BASIC_PROPERTIES[i];
    properties[name] = r.read(type);
  }
  return { classId, bodySize, properties };
}
