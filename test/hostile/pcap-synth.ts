// Writes hostile captures at test time: Ethernet/IPv4/TCP frames of made-up conversations,
// streamed to a pcap file in large writes so that a capture of hundreds of MB costs the
// generator no more memory than one write buffer. The bytes the peers "send" are whatever
// the test builds (real protocol encoders where one exists: hpack.js, the gRPC framing);
// the TCP layer is minimal but valid: a handshake (or none, to join mid-connection),
// in-order segments with correct sequence and acknowledgement numbers, FIN or nothing.
// Checksums are left zero, as captures of offloaded traffic have them.

import { closeSync, openSync, writeSync } from 'node:fs';

const LINKTYPE_ETHERNET = 1;
const FLUSH_AT = 4 * 1024 * 1024;
/** The largest TCP payload of one frame, as on an Ethernet link. */
export const MSS = 1448;

export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(FLUSH_AT + 70_000);
  private used = 0;
  /** Capture time in microseconds; each frame advances it a little. */
  tsMicros = 1_700_000_000_000_000;
  frames = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(262144, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.append(header);
  }

  /** One frame: Ethernet, IPv4 and TCP headers, then the payload. */
  tcp(src: Endpoint, dst: Endpoint, seq: number, ack: number, flags: number, payload: Buffer, from = 0, to = payload.length): void {
    const length = to - from;
    const frameLength = 14 + 20 + 20 + length;
    this.tsMicros += 10;
    this.frames += 1;
    this.ensure(16 + frameLength);
    const b = this.buf;
    let at = this.used;
    b.writeUInt32LE(Math.floor(this.tsMicros / 1e6), at);
    b.writeUInt32LE(this.tsMicros % 1e6, at + 4);
    b.writeUInt32LE(frameLength, at + 8);
    b.writeUInt32LE(frameLength, at + 12);
    at += 16;
    // Ethernet: made-up MACs, IPv4.
    b.fill(0, at, at + 12);
    b[at + 5] = 1;
    b[at + 11] = 2;
    b.writeUInt16BE(0x0800, at + 12);
    at += 14;
    b[at] = 0x45;
    b[at + 1] = 0;
    b.writeUInt16BE(20 + 20 + length, at + 2);
    b.writeUInt32BE(0x40000000, at + 4); // id 0, DF
    b[at + 8] = 64;
    b[at + 9] = 6;
    b.writeUInt16BE(0, at + 10);
    b.writeUInt32BE(src.ip, at + 12);
    b.writeUInt32BE(dst.ip, at + 16);
    at += 20;
    b.writeUInt16BE(src.port, at);
    b.writeUInt16BE(dst.port, at + 2);
    b.writeUInt32BE(seq >>> 0, at + 4);
    b.writeUInt32BE(ack >>> 0, at + 8);
    b[at + 12] = 5 << 4;
    b[at + 13] = flags;
    b.writeUInt16BE(65535, at + 14);
    b.writeUInt32BE(0, at + 16);
    at += 20;
    payload.copy(b, at, from, to);
    this.used = at + length;
    this.bytes += 16 + frameLength;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private append(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buf, this.used);
    this.used += data.length;
  }

  private ensure(n: number): void {
    if (this.used + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private flush(): void {
    let at = 0;
    while (at < this.used) at += writeSync(this.fd, this.buf, at, this.used - at);
    this.used = 0;
  }
}

export interface Endpoint {
  /** IPv4 address as a 32-bit number. */
  ip: number;
  port: number;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** 10.a.b.c as a number, for endpoint n of a family of many. */
export function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** One TCP connection between two endpoints, written frame by frame into a PcapWriter. */
export class TcpConversation {
  private readonly next: [number, number];

  /**
   * @param handshake false: no SYN in the capture (it joined mid-connection); the first
   *   segments then start at arbitrary sequence numbers, as a late capture sees them.
   */
  constructor(
    private readonly w: PcapWriter,
    readonly client: Endpoint,
    readonly server: Endpoint,
    handshake = true,
  ) {
    this.next = [1000, 5000];
    if (handshake) {
      w.tcp(client, server, this.next[0] - 1, 0, TCP.SYN, EMPTY);
      w.tcp(server, client, this.next[1] - 1, this.next[0], TCP.SYN | TCP.ACK, EMPTY);
      w.tcp(client, server, this.next[0], this.next[1], TCP.ACK, EMPTY);
    }
  }

  /** Bytes from the client (dir 0) or the server (dir 1), cut into segments of at most `mss`. */
  send(dir: 0 | 1, data: Buffer, mss = MSS): void {
    const [src, dst] = dir === 0 ? [this.client, this.server] : [this.server, this.client];
    for (let at = 0; at < data.length; at += mss) {
      const end = Math.min(data.length, at + mss);
      this.w.tcp(src, dst, this.next[dir], this.next[1 - dir], TCP.ACK | TCP.PSH, data, at, end);
      this.next[dir] += end - at;
    }
  }

  /** A segment-sized write that leaves `missing` bytes uncaptured before it (a hole). */
  skip(dir: 0 | 1, missing: number): void {
    this.next[dir] += missing;
  }

  fin(): void {
    this.w.tcp(this.client, this.server, this.next[0], this.next[1], TCP.FIN | TCP.ACK, EMPTY);
    this.next[0] += 1;
    this.w.tcp(this.server, this.client, this.next[1], this.next[0], TCP.FIN | TCP.ACK, EMPTY);
    this.next[1] += 1;
    this.w.tcp(this.client, this.server, this.next[0], this.next[1], TCP.ACK, EMPTY);
  }
}

const EMPTY = Buffer.alloc(0);
