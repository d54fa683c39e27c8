// Parses an HTTP/1.x message head (start line + header fields, RFC 9112 sections 3-5) from
// Buffer bytes. Hand-written rather than a library: node's llhttp is not exposed as a
// reusable parser, and this is the hot path, so it walks the bytes with indexOf and decodes
// the head once as latin1, which maps bytes 1:1 and is the cheapest decoding.

import { CR, SP } from './syntax.js';

export interface MessageHead {
  /** Request: method and raw request-target; response: status and reason. */
  method: string;
  target: string;
  status: number;
  statusText: string;
  /** '1.0' or '1.1'. */
  httpVersion: string;
  /** Lower-case names; a repeated field's values joined with ', '. */
  headers: Record<string, string>;
  /** Framing facts pulled out while walking the fields, so nobody looks them up again. */
  contentLength: number | null;
  chunked: boolean;
  /** A transfer-encoding other than chunked was the last coding (body runs to close). */
  otherTransferCoding: boolean;
  connectionClose: boolean;
  keepAlive: boolean;
  /** Value of the Upgrade field, when `Connection: upgrade` is also present. */
  upgrade: string | null;
  contentEncoding: string | null;
}

export type HeadResult = MessageHead | string; // a string names what is malformed

/** Sets a field without letting a `__proto__` name change the object's prototype. */
export function setField(obj: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
  else obj[name] = value;
}

/**
 * `end` is the index just past the blank line's LF. The head is decoded to a string once
 * (one native call) and cut with string operations, which V8 does without copying; that
 * measured faster than decoding each name and value from the Buffer separately.
 */
export function parseHead(buf: Buffer, start: number, end: number, isRequest: boolean): HeadResult {
  const text = buf.toString('latin1', start, end);
  const lineEnd = text.indexOf('\n');
  if (lineEnd === -1) return 'no start line';
  const head: MessageHead = {
    method: '',
    target: '',
    status: 0,
    statusText: '',
    httpVersion: '1.1',
    headers: {},
    contentLength: null,
    chunked: false,
    otherTransferCoding: false,
    connectionClose: false,
    keepAlive: false,
    upgrade: null,
    contentEncoding: null,
  };
  const lineStop = trimCr(text, 0, lineEnd);
  const bad = isRequest ? parseRequestLine(text, lineStop, head) : parseStatusLine(text, lineStop, head);
  if (bad) return bad;
  const fieldsBad = parseFieldsText(text, lineEnd + 1, head.headers);
  if (fieldsBad) return fieldsBad;
  return interpretFields(head);
}

function trimCr(text: string, start: number, lf: number): number {
  return lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
}

function parseRequestLine(text: string, end: number, head: MessageHead): string | null {
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0 || sp1 >= end) return 'bad request line';
  const sp2 = text.lastIndexOf(' ', end - 1);
  if (sp2 <= sp1 + 1) return 'bad request line';
  head.method = text.slice(0, sp1);
  head.target = text.slice(sp1 + 1, sp2);
  return parseVersion(text, sp2 + 1, end, head);
}

function parseStatusLine(text: string, end: number, head: MessageHead): string | null {
  const bad = parseVersion(text, 0, 8, head);
  if (bad) return bad;
  if (text.charCodeAt(8) !== SP || end < 12) return 'bad status code';
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return 'bad status code';
    status = status * 10 + c;
  }
  if (status < 100) return 'bad status code';
  head.status = status;
  head.statusText = end > 13 ? text.slice(13, end) : '';
  return null;
}

/** `HTTP/1.0` or `HTTP/1.1` (a later minor version is read as 1.1) in [start, end). */
function parseVersion(text: string, start: number, end: number, head: MessageHead): string | null {
  if (end - start !== 8 || !text.startsWith('HTTP/1.', start)) return 'bad version';
  const minor = text.charCodeAt(start + 7);
  if (minor < 0x30 || minor > 0x39) return 'bad version';
  head.httpVersion = minor === 0x30 ? '1.0' : '1.1';
  return null;
}

/** Header (or trailer) fields in buf[start, end), which ends with the blank line. */
export function parseFields(buf: Buffer, start: number, end: number, into: Record<string, string>): string | null {
  return parseFieldsText(buf.toString('latin1', start, end), 0, into);
}

/** Field lines from `pos` up to the blank line. */
function parseFieldsText(text: string, pos: number, into: Record<string, string>): string | null {
  let lastName: string | null = null;
  const end = text.length;
  while (pos < end) {
    const lf = text.indexOf('\n', pos);
    if (lf === -1) return 'unterminated field line';
    const lineEnd = trimCr(text, pos, lf);
    if (lineEnd === pos) return null; // the blank line
    const first = text.charCodeAt(pos);
    if (first === SP || first === 0x09) {
      // obs-fold: a continuation of the previous field's value (RFC 9112 5.2).
      if (lastName === null) return 'continuation without a field';
      const more = trimmedValue(text, pos, lineEnd);
      if (more) into[lastName] = into[lastName] ? `${into[lastName]} ${more}` : more;
      pos = lf + 1;
      continue;
    }
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon >= lineEnd) return 'field line without a colon';
    const name = text.slice(pos, colon).toLowerCase();
    const value = trimmedValue(text, colon + 1, lineEnd);
    const previous = into[name];
    if (previous === undefined || !Object.prototype.hasOwnProperty.call(into, name)) setField(into, name, value);
    else into[name] = `${previous}, ${value}`;
    lastName = name;
    pos = lf + 1;
  }
  return 'unterminated field section';
}

function trimmedValue(text: string, start: number, end: number): string {
  let c = text.charCodeAt(start);
  while (start < end && (c === SP || c === 0x09)) c = text.charCodeAt(++start);
  c = text.charCodeAt(end - 1);
  while (end > start && (c === SP || c === 0x09)) c = text.charCodeAt(--end - 1);
  return start === end ? '' : text.slice(start, end);
}

/** Pulls the framing facts out of the fields (RFC 9112 section 6). */
function interpretFields(head: MessageHead): HeadResult {
  const h = head.headers;
  const te = h['transfer-encoding'];
  if (te !== undefined) {
    const last = lastToken(te);
    head.chunked = last === 'chunked';
    head.otherTransferCoding = !head.chunked && last !== '';
  }
  const cl = h['content-length'];
  if (cl !== undefined && !head.chunked) {
    const n = parseContentLength(cl);
    if (n < 0) return 'bad content-length';
    head.contentLength = n;
  }
  const connection = h['connection'];
  if (connection !== undefined) {
    const c = connection.toLowerCase();
    head.connectionClose = c.includes('close');
    head.keepAlive = c.includes('keep-alive');
    if (c.includes('upgrade') && h['upgrade'] !== undefined) head.upgrade = h['upgrade'].trim();
  }
  const ce = h['content-encoding'];
  if (ce !== undefined) {
    const coding = ce.trim().toLowerCase();
    if (coding !== '' && coding !== 'identity') head.contentEncoding = coding;
  }
  return head;
}

function lastToken(list: string): string {
  const comma = list.lastIndexOf(',');
  return (comma === -1 ? list : list.slice(comma + 1)).trim().toLowerCase();
}

/** Digits only; a list of identical values (`5, 5`) is allowed by RFC 9110 8.6. -1 when invalid. */
function parseContentLength(value: string): number {
  let result = -1;
  let n = -1;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 0x2c;
    if (c >= 0x30 && c <= 0x39) {
      n = (n < 0 ? 0 : n * 10) + (c - 0x30);
      if (n > Number.MAX_SAFE_INTEGER / 10) return -1;
    } else if (c === 0x2c) {
      if (n < 0 || (result >= 0 && result !== n)) return -1;
      result = n;
      n = -1;
    } else if (c !== SP && c !== 0x09) {
      return -1;
    }
  }
  return result;
}
