// Decodes a protobuf message without its schema into a field-number tree, e.g.
// {"1": "alice", "2": {"1": 3}}, reading the wire format with protobufjs's Reader.
//
// The wire format does not say what a length-delimited field (wire type 2) holds, so we guess,
// in this order (docs/protocols/grpc.md):
//   1. empty -> "" ;
//   2. printable UTF-8 text (no control characters other than tab, CR, LF) -> a string;
//   3. bytes that parse completely as a message (valid tags, known wire types, lengths that
//      fit, at most MAX_DEPTH deep) -> a nested tree;
//   4. anything else -> {"bytes": "<base64>"}.
// Text comes before nested messages because short strings such as "hi" also parse as a
// message, while real nested messages almost always contain control bytes (tags 0x08, 0x12,
// small lengths). Varints are numbers (decimal strings beyond 2^53); fixed64/fixed32 are shown
// as doubles/floats when that reading is an ordinary number, else as unsigned integers.
// A field seen more than once becomes an array. Returns null when the bytes are not protobuf.

import protobuf from 'protobufjs';

const MAX_DEPTH = 32;
const MAX_FIELDS = 10_000;

export type Tree = { [field: string]: unknown };

export function decodeSchemaless(bytes: Uint8Array): Tree | null {
  const budget = { fields: MAX_FIELDS };
  // A Buffer reads text and numbers in place, without a view per field.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    return parseMessage(buf, 0, budget);
  } catch {
    return null;
  }
}

function parseMessage(bytes: Buffer, depth: number, budget: { fields: number }): Tree | null {
  if (depth > MAX_DEPTH) return null;
  const reader = protobuf.Reader.create(bytes);
  const tree: Tree = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0 || --budget.fields < 0) return null;
    let value: unknown;
    switch (wireType) {
      case 0:
        value = longToValue(reader.uint64() as unknown as LongLike);
        break;
      case 1:
        value = fixed64Value(reader.fixed64() as unknown as LongLike, bytes, reader.pos - 8);
        break;
      case 2: {
        const length = reader.uint32();
        const start = reader.pos;
        if (start + length > reader.len) return null;
        reader.pos += length;
        value = lengthDelimitedValue(bytes, start, start + length, depth, budget);
        break;
      }
      case 5:
        value = fixed32Value(bytes, reader.pos);
        reader.pos += 4;
        if (reader.pos > reader.len) return null;
        break;
      default:
        return null; // groups (3, 4) are obsolete; 6 and 7 do not exist
    }
    const key = String(field);
    const previous = tree[key];
    if (previous === undefined) tree[key] = value;
    // Values are never arrays themselves, so an array here is a repeated field's list.
    else if (Array.isArray(previous)) previous.push(value);
    else tree[key] = [previous, value];
  }
  return tree;
}

/** The guess for bytes[start, end) described in the header comment. */
function lengthDelimitedValue(bytes: Buffer, start: number, end: number, depth: number, budget: { fields: number }): unknown {
  if (start === end) return '';
  const text = printableText(bytes, start, end);
  if (text !== null) return text;
  const inner = bytes.subarray(start, end);
  const nested = parseMessage(inner, depth + 1, budget);
  if (nested !== null && Object.keys(nested).length > 0) return nested;
  return { bytes: inner.toString('base64') };
}

interface LongLike {
  low: number;
  high: number;
}

function longToValue(long: LongLike | number): number | string {
  if (typeof long === 'number') return long;
  const high = long.high >>> 0;
  const low = long.low >>> 0;
  if (high < 0x200000) return high * 0x100000000 + low;
  return ((BigInt(high) << 32n) | BigInt(low)).toString();
}

function fixed64Value(long: LongLike, bytes: Buffer, at: number): number | string {
  const asDouble = bytes.readDoubleLE(at);
  if (isOrdinaryNumber(asDouble, 1e-300, 1e300)) return asDouble;
  return longToValue(long);
}

function fixed32Value(bytes: Buffer, at: number): number {
  const asFloat = bytes.readFloatLE(at);
  if (isOrdinaryNumber(asFloat, 1e-30, 1e30)) return Math.fround(asFloat) === asFloat ? Number(asFloat.toPrecision(7)) : asFloat;
  return bytes.readUInt32LE(at);
}

function isOrdinaryNumber(n: number, min: number, max: number): boolean {
  if (!Number.isFinite(n)) return false;
  const a = Math.abs(n);
  return a === 0 || (a >= min && a <= max);
}

/** bytes[start, end) as text when valid UTF-8 with no control characters other than tab, LF and CR, else null. */
function printableText(bytes: Buffer, start: number, end: number): string | null {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return null;
    if (b === 0x7f) return null;
  }
  const text = bytes.toString('utf8', start, end);
  return text.includes('\ufffd') ? null : text;
}
