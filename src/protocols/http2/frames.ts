// HTTP/2 frame layout (RFC 9113 section 4 and 6): the 9-byte frame header, the frame types,
// flags and error codes, and the plausibility check used to detect HTTP/2 in the middle of
// a connection and to find a frame boundary again after a capture gap. Written by hand
// because the check is a few comparisons; no library exposes one for passive parsing.

export const FRAME_HEADER_SIZE = 9;
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum FrameType {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
}

export const enum Flag {
  EndStream = 0x1,
  Ack = 0x1,
  EndHeaders = 0x4,
  Padded = 0x8,
  Priority = 0x20,
}

export const enum Setting {
  HeaderTableSize = 0x1,
  MaxFrameSize = 0x5,
}

const ERROR_CODES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function errorCodeName(code: number): string {
  return ERROR_CODES[code] ?? `0x${code.toString(16)}`;
}

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

export function readFrameHeader(buf: Buffer, at: number): FrameHeader {
  return {
    length: (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2],
    type: buf[at + 3],
    flags: buf[at + 4],
    streamId: buf.readUInt32BE(at + 5) & 0x7fffffff,
  };
}

/** Flags each known frame type may carry; anything else marks a header as implausible. */
const ALLOWED_FLAGS = [
  Flag.EndStream | Flag.Padded, // DATA
  Flag.EndStream | Flag.EndHeaders | Flag.Padded | Flag.Priority, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  Flag.Ack, // SETTINGS
  Flag.EndHeaders | Flag.Padded, // PUSH_PROMISE
  Flag.Ack, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  Flag.EndHeaders, // CONTINUATION
];

/** Largest frame we accept as plausible when guessing boundaries (the protocol allows 16 MiB). */
export const PLAUSIBLE_MAX_LENGTH = 1 << 20;

/**
 * Whether the 9 bytes at `at` look like a real frame header: a known type, only the flags
 * that type defines, the reserved bit clear, a stream id where the type needs one and none
 * where it must not, and the fixed payload sizes RFC 9113 prescribes.
 */
export function isPlausibleFrameHeader(buf: Buffer, at: number): boolean {
  if (at + FRAME_HEADER_SIZE > buf.length) return false;
  const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
  const type = buf[at + 3];
  const flags = buf[at + 4];
  if (length > PLAUSIBLE_MAX_LENGTH || type > FrameType.Continuation) return false;
  if ((flags & ~ALLOWED_FLAGS[type]) !== 0) return false;
  if ((buf[at + 5] & 0x80) !== 0) return false;
  const streamId = buf.readUInt32BE(at + 5);
  switch (type) {
    case FrameType.Settings:
      return streamId === 0 && ((flags & Flag.Ack) !== 0 ? length === 0 : length % 6 === 0);
    case FrameType.Ping:
      return streamId === 0 && length === 8;
    case FrameType.GoAway:
      return streamId === 0 && length >= 8;
    case FrameType.WindowUpdate:
      return length === 4;
    case FrameType.Priority:
      return streamId !== 0 && length === 5;
    case FrameType.RstStream:
      return streamId !== 0 && length === 4;
    default:
      // DATA, HEADERS, PUSH_PROMISE, CONTINUATION belong to a stream; HEADERS has a block.
      return streamId !== 0 && (type !== FrameType.Headers || length > 0);
  }
}

/** How far a chain of plausible frames starting at `at` goes. */
export interface Chain {
  frames: number;
  /** The chain ran into the end of the buffer (inside a header or payload, or exactly at it). */
  reachedEnd: boolean;
}

export function plausibleChain(buf: Buffer, at: number, want: number): Chain {
  let frames = 0;
  let pos = at;
  while (frames < want) {
    if (pos + FRAME_HEADER_SIZE > buf.length) return { frames, reachedEnd: true };
    if (!isPlausibleFrameHeader(buf, pos)) return { frames, reachedEnd: false };
    pos += FRAME_HEADER_SIZE + ((buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]);
    frames += 1;
  }
  return { frames, reachedEnd: pos >= buf.length };
}

export interface Boundary {
  at: number;
  /** `want` frames in a row were seen; otherwise the chain is promising but needs more bytes. */
  confirmed: boolean;
}

/**
 * First offset from `from` where a frame boundary is plausible: confirmed by `want`
 * consecutive plausible frames (or by at least two that end exactly with the buffer, as
 * when segments carry whole frames), or unconfirmed when a chain of at least one frame runs
 * into the end of the buffer. Null when no offset qualifies.
 */
export function findFrameBoundary(buf: Buffer, from: number, want: number): Boundary | null {
  for (let at = from; at + FRAME_HEADER_SIZE <= buf.length; at++) {
    const chain = plausibleChain(buf, at, want);
    if (chain.frames >= want) return { at, confirmed: true };
    if (chain.reachedEnd && chain.frames >= 1) return { at, confirmed: chain.frames >= 2 && endsExactly(buf, at, chain.frames) };
  }
  return null;
}

function endsExactly(buf: Buffer, at: number, frames: number): boolean {
  let pos = at;
  for (let i = 0; i < frames; i++) pos += FRAME_HEADER_SIZE + ((buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]);
  return pos === buf.length;
}
