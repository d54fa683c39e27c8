// Byte-level recognisers for HTTP/1.x start lines (RFC 9112 section 3 and 4), shared by
// detection and by the parser's resynchronisation. They work on Buffer bytes with plain
// loops: this runs on every message of every connection, so no regexes and no strings.

/** RFC 9110 tchar: the characters a method token (and a header name) may contain. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

export const SP = 0x20;
export const CR = 0x0d;
export const LF = 0x0a;

/** Longest method token we accept; real ones are short, and a bound keeps detection cheap. */
const MAX_METHOD = 32;
/** Longest request line we wait for before deciding it is not one. */
export const MAX_START_LINE = 16 * 1024;

/** 'yes', 'no', or 'more' when the bytes end before it can be told. */
export type LineMatch = 'yes' | 'no' | 'more';

/** `HTTP/1.` at `pos`: the version prefix both start lines share. */
function matchVersionPrefix(buf: Buffer, pos: number, end: number): LineMatch {
  const want = 'HTTP/1.';
  for (let i = 0; i < want.length; i++) {
    if (pos + i >= end) return 'more';
    if (buf[pos + i] !== want.charCodeAt(i)) return 'no';
  }
  return 'yes';
}

/** A status line starts at `pos`: `HTTP/1.x SP 3DIGIT`. */
export function matchStatusLine(buf: Buffer, pos: number, end: number): LineMatch {
  const prefix = matchVersionPrefix(buf, pos, end);
  if (prefix !== 'yes') return prefix;
  const rest = pos + 7; // digit, SP, 3 digits
  for (let i = 0; i < 5; i++) {
    if (rest + i >= end) return 'more';
    const b = buf[rest + i];
    const ok = i === 1 ? b === SP : b >= 0x30 && b <= 0x39;
    if (!ok) return 'no';
  }
  return 'yes';
}

/** A request line starts at `pos`: `token SP request-target SP HTTP/1.`. */
export function matchRequestLine(buf: Buffer, pos: number, end: number): LineMatch {
  let i = pos;
  while (i < end && TCHAR[buf[i]] === 1) {
    i++;
    if (i - pos > MAX_METHOD) return 'no';
  }
  if (i >= end) return 'more';
  if (i === pos || buf[i] !== SP) return 'no';
  const targetStart = ++i;
  // request-target: visible ASCII (and obs-text, which some clients send unencoded).
  while (i < end && buf[i] > SP && buf[i] !== 0x7f) {
    i++;
    if (i - pos > MAX_START_LINE) return 'no';
  }
  if (i >= end) return 'more';
  if (i === targetStart || buf[i] !== SP) return 'no';
  return matchVersionPrefix(buf, i + 1, end);
}

export function isTchar(b: number): boolean {
  return TCHAR[b] === 1;
}
