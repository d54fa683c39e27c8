// Reads one client request: a RESP array of bulk strings (what every client library sends)
// or an inline command (a text line, as typed into telnet, split the way Redis's own
// sdssplitargs splits it). Strict: anything else is a RespError and the caller resyncs.

import { NEED_MORE, RespError, parseDecimal } from './resp.js';

export interface RawRequest {
  /** The bytes the arguments are in: the buffer read from, or for an inline command a copy. */
  bytes: Buffer;
  /**
   * Argument i is bytes[spans[2i], spans[2i + 1]): offsets, not a Buffer view per argument
   * (a view is an object of its own, 4% of the CPU time on the Redis bench capture).
   */
  spans: number[];
  inline: boolean;
  end: number;
}

/** Redis refuses inline lines and multibulk headers longer than this (PROTO_INLINE_MAX_SIZE). */
const MAX_INLINE = 64 * 1024;
/** Redis refuses more arguments than this in one command. */
const MAX_ARGS = 1024 * 1024;

/** The request at buf[pos] within buf[pos, end) (a bound, not a subarray: see readValue). */
export function readRequest(buf: Buffer, pos: number, end = buf.length): RawRequest | typeof NEED_MORE {
  if (pos >= end) return NEED_MORE;
  if (buf[pos] === 0x2a) return readMultibulk(buf, pos, end);
  return readInline(buf, pos, end);
}

function readMultibulk(buf: Buffer, pos: number, end: number): RawRequest | typeof NEED_MORE {
  let cr = buf.indexOf(0x0d, pos);
  if (cr < 0 || cr + 1 >= end) return tooLong(pos, end);
  if (buf[cr + 1] !== 0x0a) throw new RespError('CR without LF');
  const count = parseDecimal(buf, pos + 1, cr);
  if (count < 0 || count > MAX_ARGS) throw new RespError('bad argument count');
  let at = cr + 2;
  const spans: number[] = [];
  for (let i = 0; i < count; i++) {
    if (at >= end) return NEED_MORE;
    if (buf[at] !== 0x24) throw new RespError('expected a bulk string argument');
    cr = buf.indexOf(0x0d, at);
    if (cr < 0 || cr + 1 >= end) return tooLong(at, end);
    if (buf[cr + 1] !== 0x0a) throw new RespError('CR without LF');
    const len = parseDecimal(buf, at + 1, cr);
    if (len < 0) throw new RespError('negative bulk length');
    const start = cr + 2;
    if (start + len + 2 > end) return NEED_MORE;
    if (buf[start + len] !== 0x0d || buf[start + len + 1] !== 0x0a) throw new RespError('bulk not followed by CRLF');
    spans.push(start, start + len);
    at = start + len + 2;
  }
  return { bytes: buf, spans, inline: false, end: at };
}

function tooLong(pos: number, end: number): typeof NEED_MORE {
  if (end - pos > MAX_INLINE) throw new RespError('header line too long');
  return NEED_MORE;
}

function readInline(buf: Buffer, pos: number, end: number): RawRequest | typeof NEED_MORE {
  const lf = buf.indexOf(0x0a, pos);
  if (lf < 0 || lf >= end) return tooLong(pos, end);
  if (lf - pos > MAX_INLINE) throw new RespError('inline line too long');
  const lineEnd = lf > pos && buf[lf - 1] === 0x0d ? lf - 1 : lf;
  const args = splitArgs(buf.subarray(pos, lineEnd));
  const spans: number[] = [];
  let at = 0;
  for (const arg of args) spans.push(at, (at += arg.length));
  return { bytes: Buffer.concat(args), spans, inline: true, end: lf + 1 };
}

const ESCAPES: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, b: 0x08, a: 0x07 };

/** sdssplitargs: spaces separate, "double quotes" take \xHH and \n-style escapes, 'single' take \'. */
export function splitArgs(line: Buffer): Buffer[] {
  const args: Buffer[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return args;
    const out: number[] = [];
    const quote = line[i] === 0x22 || line[i] === 0x27 ? line[i] : 0;
    if (quote) i++;
    let closed = !quote;
    while (i < n) {
      const c = line[i];
      if (quote === 0) {
        if (isSpace(c)) break;
        out.push(c);
        i++;
        continue;
      }
      if (c === quote) {
        i++;
        closed = true;
        if (i < n && !isSpace(line[i])) throw new RespError('closing quote must be followed by a space');
        break;
      }
      if (c === 0x5c && i + 1 < n) {
        const e = line[i + 1];
        if (quote === 0x22 && e === 0x78 && i + 3 < n && isHex(line[i + 2]) && isHex(line[i + 3])) {
          out.push(parseInt(String.fromCharCode(line[i + 2], line[i + 3]), 16));
          i += 4;
          continue;
        }
        if (quote === 0x22) {
          out.push(ESCAPES[String.fromCharCode(e)] ?? e);
          i += 2;
          continue;
        }
        if (e === 0x27) {
          out.push(0x27);
          i += 2;
          continue;
        }
      }
      out.push(c);
      i++;
    }
    if (!closed) throw new RespError('unbalanced quotes in inline command');
    args.push(Buffer.from(out));
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0b || c === 0x0c;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
