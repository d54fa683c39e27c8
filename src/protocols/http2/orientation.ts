// Which side of an HTTP/2 connection joined mid-flow is the client, read from the frames
// themselves. The HPACK dynamic table is unknown at that point, but the structure of a header
// block is not: every field representation (RFC 7541 section 6) can be stepped over without
// the table, and fields that name a static-table entry (Appendix A) say what they are.
// Pseudo-header fields come first in a block: `:authority` (1), `:method` (2, 3), `:path`
// (4, 5) and `:scheme` (6, 7) only appear in requests, `:status` (8-14) only in responses.
// Server-only frames count too: PUSH_PROMISE, and HEADERS opening an even (pushed) stream.
// Written by hand: hpack.js decodes with a table, and here we must read without one.

import { FRAME_HEADER_SIZE, Flag, FrameType, isPlausibleFrameHeader } from './frames.js';

export interface SideEvidence {
  /** Header blocks that open with request pseudo-headers. */
  requests: number;
  /** Header blocks that open with :status, PUSH_PROMISE frames, HEADERS on even streams. */
  responses: number;
}

/** Fields read per block: pseudo-headers are first, so a few are plenty. */
const FIELDS_PER_BLOCK = 8;
/** Frames examined per direction, to keep detection cheap. */
const FRAMES_PER_SIDE = 64;

/**
 * Walks the chain of plausible frames from `at` (a boundary found by findFrameBoundary) and
 * classifies every HEADERS and PUSH_PROMISE frame. Stops at the first implausible header.
 */
export function sideEvidence(buf: Buffer, at: number): SideEvidence {
  const evidence: SideEvidence = { requests: 0, responses: 0 };
  let pos = at;
  for (let n = 0; n < FRAMES_PER_SIDE && isPlausibleFrameHeader(buf, pos); n++) {
    const length = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2];
    const type = buf[pos + 3];
    const flags = buf[pos + 4];
    const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
    const payloadEnd = Math.min(buf.length, pos + FRAME_HEADER_SIZE + length);
    if (type === FrameType.PushPromise) evidence.responses += 1;
    else if (type === FrameType.Headers) {
      if (streamId % 2 === 0) evidence.responses += 1;
      else {
        const kind = blockKind(buf, headerBlockStart(buf, pos, flags, length), payloadEnd);
        if (kind === 'request') evidence.requests += 1;
        else if (kind === 'response') evidence.responses += 1;
      }
    }
    pos += FRAME_HEADER_SIZE + length;
  }
  return evidence;
}

/** Offset of the header block fragment in a HEADERS frame (after pad length and priority). */
function headerBlockStart(buf: Buffer, frameAt: number, flags: number, length: number): number {
  let start = frameAt + FRAME_HEADER_SIZE;
  if (flags & Flag.Padded) start += 1;
  if (flags & Flag.Priority) start += 5;
  return Math.min(start, frameAt + FRAME_HEADER_SIZE + length);
}

type BlockKind = 'request' | 'response' | 'unknown';

/** Reads the first fields of a header block; unknown when it names no pseudo-header we know. */
function blockKind(buf: Buffer, start: number, end: number): BlockKind {
  let request = false;
  let response = false;
  let pos = start;
  for (let fields = 0; fields < FIELDS_PER_BLOCK && pos < end; fields++) {
    const first = buf[pos];
    let nameIndex: number;
    if (first & 0x80) {
      const index = readInt(buf, pos, end, 7);
      if (index === null) break;
      nameIndex = index.value;
      pos = index.next;
    } else if ((first & 0xe0) === 0x20) {
      // Dynamic table size update: not a field.
      const size = readInt(buf, pos, end, 5);
      if (size === null) break;
      pos = size.next;
      continue;
    } else {
      const index = readInt(buf, pos, end, first & 0x40 ? 6 : 4);
      if (index === null) break;
      nameIndex = index.value;
      pos = index.next;
      if (nameIndex === 0) {
        const name = readString(buf, pos, end);
        if (name === null) break;
        nameIndex = literalPseudoName(buf, name);
        pos = name.next;
      }
      const value = readString(buf, pos, end);
      if (value === null) {
        pos = end;
      } else pos = value.next;
    }
    if (nameIndex >= 1 && nameIndex <= 7) request = true;
    else if (nameIndex >= 8 && nameIndex <= 14) response = true;
  }
  if (request === response) return 'unknown';
  return request ? 'request' : 'response';
}

/** HPACK integer with an N-bit prefix (RFC 7541 section 5.1); null when cut short or absurd. */
function readInt(buf: Buffer, pos: number, end: number, prefixBits: number): { value: number; next: number } | null {
  const max = (1 << prefixBits) - 1;
  let value = buf[pos] & max;
  pos += 1;
  if (value < max) return { value, next: pos };
  for (let shift = 0; shift <= 21; shift += 7) {
    if (pos >= end) return null;
    const b = buf[pos++];
    value += (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value, next: pos };
  }
  return null;
}

/** A string literal's bounds, null when its length prefix is cut short. */
function readString(buf: Buffer, pos: number, end: number): { start: number; huffman: boolean; next: number } | null {
  if (pos >= end) return null;
  const huffman = (buf[pos] & 0x80) !== 0;
  const length = readInt(buf, pos, end, 7);
  if (length === null) return null;
  return { start: length.next, huffman, next: length.next + length.value };
}

/** Static index of a pseudo-header written as a plain literal name (rare), else 0. */
function literalPseudoName(buf: Buffer, name: { start: number; huffman: boolean; next: number }): number {
  if (name.huffman || name.next > buf.length || buf[name.start] !== 0x3a) return 0;
  switch (buf.toString('latin1', name.start, name.next)) {
    case ':authority':
      return 1;
    case ':method':
      return 2;
    case ':path':
      return 4;
    case ':scheme':
      return 6;
    case ':status':
      return 8;
    default:
      return 0;
  }
}
