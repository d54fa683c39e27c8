// DNS messages (RFC 1035 section 4, plus the RDATA layouts of the common types). Parsed by
// hand: the one npm package for it (dns-packet) is not a dependency, and what we need — a
// strict parse that refuses anything malformed, so detection can rely on it — is short.
// Compressed names follow at most `maxPointers` pointers, which ends pointer loops.
import { className, opcodeName, rcodeName, typeName } from './names.js';

const maxPointers = 32;
const maxNameLength = 255;
/** Records kept per section; more are counted in the section's count only. */
const maxRecords = 64;
const DOT = 0x2e;
const BACKSLASH = 0x5c;

export interface Question {
  name: string;
  type: string;
  class?: string;
}

export interface ResourceRecord {
  name: string;
  type: string;
  ttl: number;
  data: string;
}

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
}

/**
 * Thrown inside the parser and caught at its top (never escapes). Not an Error: capturing a
 * stack trace for every malformed probe cost 4.7 s of 9.4 when 200,000 connections of
 * opaque bytes were each offered to the DNS-over-TCP detector.
 */
class Malformed {
  constructor(readonly reason: string) {}
}

/**
 * A name's text is assembled here and read out as one latin1 string: one string per name
 * instead of one per label, a regex pass per label and a join (readName was 12% of the DNS
 * capture's CPU that way). Wire names are at most 255 bytes; escaping doubles a byte at most.
 */
const nameText = Buffer.alloc(2 * maxNameLength);

function readName(buf: Buffer, start: number): { name: string; next: number } {
  let pos = start;
  let next = -1;
  let jumps = 0;
  let length = 0;
  let out = 0;
  for (;;) {
    if (pos >= buf.length) throw new Malformed('name runs past the message');
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length || ++jumps > maxPointers) throw new Malformed('bad compression pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Malformed('reserved label type');
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new Malformed('label runs past the message');
    length += len + 1;
    if (length > maxNameLength) throw new Malformed('name too long');
    if (out > 0) nameText[out++] = DOT;
    // A dot or backslash inside a label is escaped, so the text parses back to the same labels.
    for (let i = pos + 1; i <= pos + len; i++) {
      const b = buf[i];
      if (b === DOT || b === BACKSLASH) nameText[out++] = BACKSLASH;
      nameText[out++] = b;
    }
    pos += 1 + len;
  }
  return { name: out === 0 ? '.' : nameText.toString('latin1', 0, out), next };
}

function ipv6(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

function characterStrings(buf: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let pos = start;
  while (pos < end) {
    const len = buf[pos];
    if (pos + 1 + len > end) throw new Malformed('character-string overruns');
    out.push(buf.toString('utf8', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return out;
}

function rdata(buf: Buffer, type: number, start: number, len: number): string {
  const end = start + len;
  const name = (at: number): string => readName(buf, at).name;
  switch (type) {
    case 1:
      if (len !== 4) throw new Malformed('A record length');
      return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
    case 28:
      if (len !== 16) throw new Malformed('AAAA record length');
      return ipv6(buf.subarray(start, end));
    case 2:
    case 5:
    case 12:
    case 39:
      return name(start);
    case 15:
      if (len < 3) throw new Malformed('MX record length');
      return `${buf.readUInt16BE(start)} ${name(start + 2)}`;
    case 16:
    case 99:
      return characterStrings(buf, start, end).join('');
    case 33:
      if (len < 7) throw new Malformed('SRV record length');
      return `${buf.readUInt16BE(start)} ${buf.readUInt16BE(start + 2)} ${buf.readUInt16BE(start + 4)} ${name(start + 6)}`;
    case 6: {
      const m = readName(buf, start);
      const r = readName(buf, m.next);
      if (r.next + 20 > end) throw new Malformed('SOA record length');
      const nums = [0, 4, 8, 12, 16].map((o) => buf.readUInt32BE(r.next + o));
      return `${m.name} ${r.name} ${nums.join(' ')}`;
    }
    default:
      return buf.toString('hex', start, end);
  }
}

/** Parse a whole message; null when anything is malformed or bytes are left over. */
export function parseDnsMessage(buf: Buffer): DnsMessage | null {
  try {
    return parse(buf);
  } catch (err) {
    if (err instanceof Malformed || err instanceof RangeError) return null;
    throw err;
  }
}

function parse(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new Malformed('short header');
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  // Every question takes at least 5 bytes and every record 11: counts beyond that are lies.
  if (counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11 > buf.length - 12) throw new Malformed('counts exceed the message');
  let pos = 12;
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new Malformed('question overruns');
    const q: Question = { name, type: typeName(buf.readUInt16BE(next)) };
    const cls = buf.readUInt16BE(next + 2);
    if (cls !== 1) q.class = className(cls);
    if (questions.length < maxRecords) questions.push(q);
    pos = next + 4;
  }
  const answers: ResourceRecord[] = [];
  for (let section = 1; section <= 3; section++) {
    for (let i = 0; i < counts[section]; i++) {
      const { name, next } = readName(buf, pos);
      if (next + 10 > buf.length) throw new Malformed('record overruns');
      const type = buf.readUInt16BE(next);
      const ttl = buf.readUInt32BE(next + 4);
      const len = buf.readUInt16BE(next + 8);
      const start = next + 10;
      if (start + len > buf.length) throw new Malformed('rdata overruns');
      const data = type === 41 ? '' : rdata(buf, type, start, len); // OPT (EDNS) is not data
      if (section === 1 && answers.length < maxRecords) answers.push({ name, type: typeName(type), ttl, data });
      pos = start + len;
    }
  }
  if (pos !== buf.length) throw new Malformed('bytes after the last record');
  return {
    id: buf.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0x0f,
    questions,
    answers,
    answerCount: counts[1],
    authorityCount: counts[2],
    additionalCount: counts[3],
  };
}

/**
 * What a client query looks like: a standard opcode, exactly one question of class IN, ANY
 * or CH, no answers, and a non-zero id. mDNS (RFC 6762) queries use id 0 and often several
 * questions with the unicast-response bit in the class, so they are refused here. Read from
 * the parsed message (a question's class is absent when IN), not the wire again.
 */
export function isClientQuery(m: DnsMessage): boolean {
  if (m.isResponse || m.id === 0 || opcodeName(m.opcode) === undefined) return false;
  if (m.questions.length !== 1 || m.answerCount !== 0) return false;
  const cls = m.questions[0].class;
  return cls === undefined || cls === 'ANY' || cls === 'CH';
}

export function describeRcode(m: DnsMessage): string {
  return rcodeName(m.rcode);
}

export { opcodeName };
