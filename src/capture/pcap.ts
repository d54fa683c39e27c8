// Classic libpcap file format: a 24-byte global header, then 16-byte record headers each
// followed by the packet. Written by hand rather than through the `pcap` package because
// that one only reads files by path through libpcap (no stdin, no streaming from any
// Readable) and costs a native call per packet; this parser is a few integer reads.

import { CaptureFormatError } from '../errors.js';
import type { Stats } from '../stats.js';
import type { Frame } from './frame.js';
import { MAX_RECORD_BYTES, newFrame, type RecordParser } from './record-parser.js';

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;

/** True when the first four bytes are a pcap magic number in either byte order. */
export function isPcapMagic(buf: Buffer): boolean {
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  return le === PCAP_MAGIC_MICROS || le === PCAP_MAGIC_NANOS || be === PCAP_MAGIC_MICROS || be === PCAP_MAGIC_NANOS;
}

export class PcapParser implements RecordParser {
  need = GLOBAL_HEADER;
  frames = 0;
  private headerRead = false;
  private littleEndian = true;
  private nanos = false;
  private linkType = 0;
  /**
   * The file header's snaplen. A record longer than it is read whole and counted
   * (capture.recordsOverSnaplen), as Wireshark does; only one longer than MAX_RECORD_BYTES
   * (libpcap's own ceiling, where it stops too) is corrupt.
   */
  private snaplen = MAX_RECORD_BYTES;
  private readonly frame: Frame = newFrame();

  constructor(private readonly stats?: Stats) {}

  parse(buf: Buffer, base: number, onFrame: (frame: Frame) => void): number {
    let pos = 0;
    const end = buf.length;
    if (!this.headerRead) {
      if (end < GLOBAL_HEADER) {
        this.need = GLOBAL_HEADER;
        return 0;
      }
      this.readGlobalHeader(buf);
      pos = GLOBAL_HEADER;
    }
    const le = this.littleEndian;
    const frame = this.frame;
    frame.linkType = this.linkType;
    const snaplen = this.snaplen;
    const nanos = this.nanos;
    while (true) {
      if (end - pos < RECORD_HEADER) {
        this.need = RECORD_HEADER;
        return pos;
      }
      const sec = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      const frac = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      const inclLen = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
      const origLen = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
      if (inclLen > MAX_RECORD_BYTES) {
        throw new CaptureFormatError(`pcap record length ${inclLen} exceeds the limit of ${MAX_RECORD_BYTES}`, base + pos);
      }
      const recordEnd = pos + RECORD_HEADER + inclLen;
      if (recordEnd > end) {
        this.need = RECORD_HEADER + inclLen;
        return pos;
      }
      if (inclLen > snaplen) this.stats?.add('capture.recordsOverSnaplen');
      frame.tsMicros = sec * 1_000_000 + (nanos ? Math.floor(frac / 1000) : frac);
      frame.data = buf.subarray(pos + RECORD_HEADER, recordEnd);
      frame.originalLength = origLen;
      frame.fileOffset = base + pos;
      this.frames++;
      onFrame(frame);
      pos = recordEnd;
    }
  }

  private readGlobalHeader(buf: Buffer): void {
    const magicLe = buf.readUInt32LE(0);
    this.littleEndian = magicLe === PCAP_MAGIC_MICROS || magicLe === PCAP_MAGIC_NANOS;
    const magic = this.littleEndian ? magicLe : buf.readUInt32BE(0);
    this.nanos = magic === PCAP_MAGIC_NANOS;
    const snaplen = this.littleEndian ? buf.readUInt32LE(16) : buf.readUInt32BE(16);
    const network = this.littleEndian ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
    // The upper bits of the link-type field carry the FCS length and flags (LT_LINKTYPE).
    this.linkType = network & 0x03ffffff;
    // 0 (some writers) means no limit.
    this.snaplen = snaplen === 0 ? MAX_RECORD_BYTES : snaplen;
    this.headerRead = true;
  }
}
