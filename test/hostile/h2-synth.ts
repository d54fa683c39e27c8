// HTTP/2 bytes for hostile captures: frames (RFC 9113 section 4), HPACK representations
// (RFC 7541 section 6, plain literals, no Huffman) and the two ways a cleartext connection
// starts (prior knowledge, or an HTTP/1.1 `Upgrade: h2c`). Valid protocol, hostile sizes.

import { TcpConversation } from './pcap-synth.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, CONTINUATION: 9 } as const;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix; `first` holds the representation's flag bits. */
export function hpackInt(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function str(text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

/** Indexed field (static 1-61, dynamic 62 and up). */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** Literal with a new name, added to the dynamic table. */
export function literalIncremental(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
}

/** Literal without indexing, name from the static table. */
export function literalStaticName(index: number, value: string): Buffer {
  return Buffer.concat([hpackInt(index, 4, 0), str(value)]);
}

/** GET http <path> with :authority, and any extra representations. */
export function requestBlock(path: string, ...extra: Buffer[]): Buffer {
  return Buffer.concat([indexed(2), indexed(6), literalStaticName(4, path), literalStaticName(1, 'svc.test'), ...extra]);
}

/** POST <path> with content-type application/grpc and te: trailers. */
export function grpcRequestBlock(path: string): Buffer {
  return Buffer.concat([indexed(3), indexed(6), literalStaticName(4, path), literalStaticName(1, 'svc.test'),
    literalStaticName(31, 'application/grpc'), Buffer.concat([Buffer.from([0x00]), str('te'), str('trailers')])]);
}

export function responseBlock(...extra: Buffer[]): Buffer {
  return Buffer.concat([indexed(8), ...extra]);
}

export function grpcResponseBlock(): Buffer {
  return Buffer.concat([indexed(8), literalStaticName(31, 'application/grpc')]);
}

export function grpcTrailersBlock(): Buffer {
  return Buffer.concat([Buffer.from([0x00]), str('grpc-status'), str('0')]);
}

/** One gRPC length-prefixed message. */
export function grpcMessage(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** DATA frames carrying `bytes` (at most 16 KiB each, the default SETTINGS_MAX_FRAME_SIZE). */
export function dataFrames(streamId: number, bytes: Buffer, endStream: boolean): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length || frames.length === 0; at += 16384) {
    const end = Math.min(bytes.length, at + 16384);
    frames.push(frame(H2.DATA, endStream && end === bytes.length ? END_STREAM : 0, streamId, bytes.subarray(at, end)));
  }
  return Buffer.concat(frames);
}

export type H2Transport = 'prior' | 'h2c';

/**
 * Starts HTTP/2 on a conversation. Prior knowledge: preface and SETTINGS both ways. h2c: the
 * HTTP/1.1 upgrade request and its 101 first (stream 1 is that request; it gets a response
 * here), then the same. Returns the first stream id the client may open.
 */
export function startH2(conv: TcpConversation, transport: H2Transport): number {
  if (transport === 'h2c') {
    conv.send(0, Buffer.from('GET / HTTP/1.1\r\nHost: svc.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n', 'latin1'));
    conv.send(1, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n', 'latin1'));
  }
  conv.send(0, Buffer.concat([PREFACE, frame(H2.SETTINGS, 0, 0)]));
  conv.send(1, Buffer.concat([frame(H2.SETTINGS, 0, 0), frame(H2.SETTINGS, 1, 0)]));
  conv.send(0, frame(H2.SETTINGS, 1, 0));
  if (transport === 'h2c') {
    conv.send(1, Buffer.concat([frame(H2.HEADERS, END_HEADERS, 1, responseBlock()), dataFrames(1, Buffer.from('upgraded'), true)]));
    return 3;
  }
  return 1;
}
