// A strict, incremental RESP2 + RESP3 reader. Why not a library: redis-parser (the one the
// Node clients use) knows RESP2 only, and a capture needs RESP3's maps, sets, pushes,
// attributes, doubles, big numbers and verbatim strings as well as byte-exact, bounded
// handling of values that arrive split across TCP segments.
//
// readValue(buf, pos, end) returns the value and the offset after it, NEED_MORE when
// buf[pos, end) ends inside the value (the caller keeps the bytes and asks again), or throws RespError
// when the bytes cannot be RESP (the caller resynchronises). Strings are views into `buf`:
// render them before the buffer is reused.

export type ScalarKind =
  | 'simple-string'
  | 'error'
  | 'bulk-string'
  | 'bulk-error'
  | 'verbatim-string'
  | 'big-number';

export type Resp = (
  | { kind: ScalarKind; bytes: Buffer }
  | { kind: 'integer'; value: number | string }
  | { kind: 'double'; value: number | string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'array' | 'set' | 'push'; items: Resp[] }
  | { kind: 'map'; entries: Array<[Resp, Resp]> }
) & { attributes?: Array<[Resp, Resp]> };

export class RespError extends Error {
  override name = 'RespError';
}

export const NEED_MORE = Symbol('need more');

export interface ReadResult {
  value: Resp;
  end: number;
}

/** Nesting deeper than this is treated as garbage rather than recursed into. */
const MAX_DEPTH = 32;
/** Aggregate lengths above this are not plausible RESP (Redis itself caps at 2^31 - 1). */
const MAX_AGGREGATE = 0x7fffffff;

const CR = 0x0d;
const LF = 0x0a;

/** Offset of the CR of the next CRLF in buf[pos, end), or -1 when none is buffered yet. */
function lineEnd(buf: Buffer, pos: number, end: number): number {
  const cr = buf.indexOf(CR, pos);
  if (cr < 0 || cr + 1 >= end) return -1;
  if (buf[cr + 1] !== LF) throw new RespError(`CR without LF at ${cr}`);
  return cr;
}

/** A signed decimal integer in buf[start, end); throws on anything else. */
export function parseDecimal(buf: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i += 1;
  } else if (buf[i] === 0x2b) {
    i += 1;
  }
  if (i >= end || end - i > 19) throw new RespError('bad integer');
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) throw new RespError('bad integer');
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * The value at buf[pos] within buf[pos, end). `end` bounds it without a subarray of the
 * message: a Buffer view costs more than reading a small reply (Redis bench capture).
 */
export function readValue(buf: Buffer, pos: number, end = buf.length, depth = 0): ReadResult | typeof NEED_MORE {
  if (pos >= end) return NEED_MORE;
  if (depth > MAX_DEPTH) throw new RespError('nesting too deep');
  const type = buf[pos];
  const cr = lineEnd(buf, pos + 1, end);
  if (cr < 0) {
    if (end - pos > 64 * 1024) throw new RespError('header line too long');
    return NEED_MORE;
  }
  const next = cr + 2;
  switch (type) {
    case 0x2b: // + simple string
      return { value: { kind: 'simple-string', bytes: buf.subarray(pos + 1, cr) }, end: next };
    case 0x2d: // - simple error
      return { value: { kind: 'error', bytes: buf.subarray(pos + 1, cr) }, end: next };
    case 0x3a: // : integer
      return { value: { kind: 'integer', value: integerValue(buf, pos + 1, cr) }, end: next };
    case 0x24: // $ bulk string
    case 0x21: // ! bulk error
    case 0x3d: {
      // = verbatim string
      const len = parseDecimal(buf, pos + 1, cr);
      if (len < 0) {
        if (len !== -1 || type !== 0x24) throw new RespError('bad length');
        return { value: { kind: 'null' }, end: next };
      }
      if (next + len + 2 > end) return NEED_MORE;
      if (buf[next + len] !== CR || buf[next + len + 1] !== LF) throw new RespError('bulk not followed by CRLF');
      const kind = type === 0x24 ? 'bulk-string' : type === 0x21 ? 'bulk-error' : 'verbatim-string';
      return { value: { kind, bytes: buf.subarray(next, next + len) }, end: next + len + 2 };
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: {
      // > push
      const count = parseDecimal(buf, pos + 1, cr);
      if (count < 0) {
        if (count !== -1 || type !== 0x2a) throw new RespError('bad length');
        return { value: { kind: 'null' }, end: next };
      }
      if (count > MAX_AGGREGATE) throw new RespError('aggregate too long');
      const items: Resp[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const r = readValue(buf, at, end, depth + 1);
        if (r === NEED_MORE) return NEED_MORE;
        items.push(r.value);
        at = r.end;
      }
      const kind = type === 0x2a ? 'array' : type === 0x7e ? 'set' : 'push';
      return { value: { kind, items }, end: at };
    }
    case 0x25: // % map
    case 0x7c: {
      // | attribute: describes the value that follows it
      const count = parseDecimal(buf, pos + 1, cr);
      if (count < 0 || count > MAX_AGGREGATE) throw new RespError('bad length');
      const entries: Array<[Resp, Resp]> = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const k = readValue(buf, at, end, depth + 1);
        if (k === NEED_MORE) return NEED_MORE;
        const v = readValue(buf, k.end, end, depth + 1);
        if (v === NEED_MORE) return NEED_MORE;
        entries.push([k.value, v.value]);
        at = v.end;
      }
      if (type === 0x25) return { value: { kind: 'map', entries }, end: at };
      const described = readValue(buf, at, end, depth + 1);
      if (described === NEED_MORE) return NEED_MORE;
      described.value.attributes = entries;
      return described;
    }
    case 0x5f: // _ null
      if (cr !== pos + 1) throw new RespError('bad null');
      return { value: { kind: 'null' }, end: next };
    case 0x23: {
      // # boolean
      if (cr !== pos + 2 || (buf[pos + 1] !== 0x74 && buf[pos + 1] !== 0x66)) throw new RespError('bad boolean');
      return { value: { kind: 'boolean', value: buf[pos + 1] === 0x74 }, end: next };
    }
    case 0x2c: // , double
      return { value: { kind: 'double', value: doubleValue(buf.toString('latin1', pos + 1, cr)) }, end: next };
    case 0x28: {
      // ( big number
      const bytes = buf.subarray(pos + 1, cr);
      if (!/^[-+]?\d+$/.test(bytes.toString('latin1'))) throw new RespError('bad big number');
      return { value: { kind: 'big-number', bytes }, end: next };
    }
    default:
      throw new RespError(`unknown type byte 0x${type.toString(16)}`);
  }
}

/** Integers beyond 2^53 stay exact as decimal strings. */
function integerValue(buf: Buffer, start: number, end: number): number | string {
  if (end - start > 15) {
    const text = buf.toString('latin1', start, end);
    if (!/^[-+]?\d{1,20}$/.test(text)) throw new RespError('bad integer');
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text.replace(/^\+/, '');
  }
  return parseDecimal(buf, start, end);
}

/** JSON has no inf/nan: those stay strings, as Redis writes them. */
function doubleValue(text: string): number | string {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === '-inf' || lower === 'nan') return lower.replace('+', '');
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new RespError('bad double');
  return n;
}
