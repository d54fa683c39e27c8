// A pcap writer for hostile-capture generators: raw-IPv4 packets (LINKTYPE_RAW) written
// straight into large chunks and handed to a Writable with backpressure, so a test can
// stream hundreds of MB of capture into `kubectl tap read -` without a file on disk or the
// whole capture in memory. Headers are filled by hand (checksums zero: the engine does not
// verify them, as captures on the sending host carry offloaded ones).

import type { Writable } from 'node:stream';

const LINKTYPE_RAW = 101;
const CHUNK = 1024 * 1024;
const RECORD_HEADER = 16;

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpSegment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload?: Buffer;
  /** The advertised window (default 65535). */
  window?: number;
}

export interface UdpDatagram {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  payload: Buffer;
}

/** 10.x.y.z from a number, for generators that need many distinct hosts. */
export function ipv4(n: number): number {
  return ((10 << 24) | (n & 0xffffff)) >>> 0;
}

export class PcapStream {
  private chunk = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  /** Bytes written so far (the size the capture file would have). */
  bytes = 0;
  packets = 0;

  constructor(
    private readonly out: Writable,
    snaplen = 262144,
  ) {
    const h = this.reserve(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(LINKTYPE_RAW, 20);
  }

  /** One TCP segment over IPv4; resolves at once unless the chunk filled and the reader is slow. */
  tcp(tsMicros: number, s: TcpSegment): Promise<void> | void {
    const payload = s.payload ?? EMPTY;
    const ipLength = 20 + 20 + payload.length;
    const rec = this.record(tsMicros, ipLength, ipLength);
    ipHeader(rec, RECORD_HEADER, ipLength, 6, s.src, s.dst);
    const t = RECORD_HEADER + 20;
    rec.writeUInt16BE(s.sport, t);
    rec.writeUInt16BE(s.dport, t + 2);
    rec.writeUInt32BE(s.seq >>> 0, t + 4);
    rec.writeUInt32BE(s.ack >>> 0, t + 8);
    rec[t + 12] = 5 << 4;
    rec[t + 13] = s.flags;
    rec.writeUInt16BE(s.window ?? 65535, t + 14);
    rec.writeUInt32BE(0, t + 16);
    payload.copy(rec, t + 20);
    return this.maybeFlush();
  }

  udp(tsMicros: number, d: UdpDatagram): Promise<void> | void {
    const ipLength = 20 + 8 + d.payload.length;
    const rec = this.record(tsMicros, ipLength, ipLength);
    ipHeader(rec, RECORD_HEADER, ipLength, 17, d.src, d.dst);
    const u = RECORD_HEADER + 20;
    rec.writeUInt16BE(d.sport, u);
    rec.writeUInt16BE(d.dport, u + 2);
    rec.writeUInt16BE(8 + d.payload.length, u + 4);
    rec.writeUInt16BE(0, u + 6);
    d.payload.copy(rec, u + 8);
    return this.maybeFlush();
  }

  /** One IPv4 fragment (offset in bytes, a multiple of 8) of a UDP datagram with IP id `id`. */
  fragment(tsMicros: number, src: number, dst: number, id: number, offset: number, more: boolean, data: Buffer): Promise<void> | void {
    const ipLength = 20 + data.length;
    const rec = this.record(tsMicros, ipLength, ipLength);
    ipHeader(rec, RECORD_HEADER, ipLength, 17, src, dst);
    rec.writeUInt16BE(id & 0xffff, RECORD_HEADER + 4);
    rec.writeUInt16BE((more ? 0x2000 : 0) | (offset >> 3), RECORD_HEADER + 6);
    data.copy(rec, RECORD_HEADER + 20);
    return this.maybeFlush();
  }

  /** A record whose captured length is `inclLen` bytes of `data` (any content, any length). */
  raw(tsMicros: number, data: Buffer): Promise<void> | void {
    const rec = this.record(tsMicros, data.length, data.length);
    data.copy(rec, RECORD_HEADER);
    return this.maybeFlush();
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  private record(tsMicros: number, inclLen: number, origLen: number): Buffer {
    const rec = this.reserve(RECORD_HEADER + inclLen);
    rec.writeUInt32LE(Math.floor(tsMicros / 1e6), 0);
    rec.writeUInt32LE(tsMicros % 1e6, 4);
    rec.writeUInt32LE(inclLen, 8);
    rec.writeUInt32LE(origLen, 12);
    this.packets++;
    return rec;
  }

  private reserve(n: number): Buffer {
    if (this.used + n > this.chunk.length) {
      this.pushChunk();
      if (n > this.chunk.length) this.chunk = Buffer.allocUnsafe(n);
    }
    const view = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    this.bytes += n;
    return view;
  }

  /** Set while the reader has not taken the last chunk: generators await it before going on. */
  private blocked: Promise<void> | null = null;

  private pushChunk(): void {
    if (this.used === 0) return;
    const ok = this.out.write(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(Math.max(CHUNK, this.chunk.length));
    this.used = 0;
    if (!ok && this.blocked === null) this.blocked = this.drained().finally(() => (this.blocked = null));
  }

  private maybeFlush(): Promise<void> | void {
    if (this.blocked !== null) return this.blocked;
  }

  private async flush(): Promise<void> {
    this.pushChunk();
    if (this.blocked !== null) await this.blocked;
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', ok).off('error', done).off('close', ok);
        if (err) reject(err);
        else resolve();
      };
      const ok = () => done();
      this.out.on('drain', ok).on('error', done).on('close', ok);
    });
  }
}

const EMPTY = Buffer.alloc(0);

function ipHeader(buf: Buffer, o: number, length: number, protocol: number, src: number, dst: number): void {
  buf[o] = 0x45;
  buf[o + 1] = 0;
  buf.writeUInt16BE(length, o + 2);
  buf.writeUInt32BE(0, o + 4);
  buf[o + 8] = 64;
  buf[o + 9] = protocol;
  buf.writeUInt16BE(0, o + 10);
  buf.writeUInt32BE(src >>> 0, o + 12);
  buf.writeUInt32BE(dst >>> 0, o + 16);
}
