// pcapng: a sequence of blocks (type, total length, body, total length again), grouped in
// sections that each start with a Section Header Block fixing the byte order. Packets come
// in Enhanced (and obsolete) Packet Blocks, which name their interface, and in Simple Packet
// Blocks, which use interface 0 and carry no timestamp. Written by hand for the same reasons
// as pcap.ts: streaming from any Readable (stdin included) at a few integer reads per packet.

import { CaptureFormatError } from '../errors.js';
import type { Stats } from '../stats.js';
import type { Frame } from './frame.js';
import { parseInterface, ticksToMicros, type PcapngInterface } from './pcapng-interface.js';
import { MAX_RECORD_BYTES, newFrame, type RecordParser } from './record-parser.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 0x00000001;
const OBSOLETE_PACKET_BLOCK = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;

const BLOCK_HEADER = 12;
/** Packet blocks: the largest record plus room for options. */
const MAX_PACKET_BLOCK = MAX_RECORD_BYTES + 64 * 1024;
/** Any other block (name resolution, statistics, custom): skipped, but buffered whole first. */
const MAX_OTHER_BLOCK = 16 * 1024 * 1024;
const MAX_INTERFACES = 65536;

export function isPcapngMagic(buf: Buffer): boolean {
  return buf.readUInt32LE(0) === PCAPNG_SHB;
}

export class PcapngParser implements RecordParser {
  need = BLOCK_HEADER;
  frames = 0;

  constructor(private readonly stats?: Stats) {}

  private littleEndian = true;
  private interfaces: PcapngInterface[] = [];
  private lastTsMicros = 0;
  private readonly frame: Frame = newFrame();

  parse(buf: Buffer, base: number, onFrame: (frame: Frame) => void): number {
    let pos = 0;
    const end = buf.length;
    const frame = this.frame;
    while (true) {
      if (end - pos < BLOCK_HEADER) {
        this.need = BLOCK_HEADER;
        return pos;
      }
      const rawType = buf.readUInt32LE(pos);
      if (rawType === PCAPNG_SHB) this.readByteOrder(buf, pos, base);
      const le = this.littleEndian;
      const type = le ? rawType : buf.readUInt32BE(pos);
      const length = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      const isPacket = type === EPB || type === SPB || type === OBSOLETE_PACKET_BLOCK;
      if (length < BLOCK_HEADER || (length & 3) !== 0 || length > (isPacket ? MAX_PACKET_BLOCK : MAX_OTHER_BLOCK)) {
        throw new CaptureFormatError(`pcapng block of type 0x${type.toString(16)} has an invalid length ${length}`, base + pos);
      }
      const blockEnd = pos + length;
      if (blockEnd > end) {
        this.need = length;
        return pos;
      }
      const trailer = le ? buf.readUInt32LE(blockEnd - 4) : buf.readUInt32BE(blockEnd - 4);
      if (trailer !== length) {
        throw new CaptureFormatError(`pcapng block length mismatch (${length} at the start, ${trailer} at the end)`, base + pos);
      }
      const body = pos + 8;
      const bodyEnd = blockEnd - 4;
      if (type === EPB || type === OBSOLETE_PACKET_BLOCK) {
        if (bodyEnd - body < 20) throw new CaptureFormatError('pcapng packet block too short', base + pos);
        const ifaceId = type === EPB ? (le ? buf.readUInt32LE(body) : buf.readUInt32BE(body)) : le ? buf.readUInt16LE(body) : buf.readUInt16BE(body);
        const iface = this.interfaces[ifaceId];
        if (iface === undefined) throw new CaptureFormatError(`pcapng packet block names undefined interface ${ifaceId}`, base + pos);
        const high = le ? buf.readUInt32LE(body + 4) : buf.readUInt32BE(body + 4);
        const low = le ? buf.readUInt32LE(body + 8) : buf.readUInt32BE(body + 8);
        const capLen = le ? buf.readUInt32LE(body + 12) : buf.readUInt32BE(body + 12);
        const origLen = le ? buf.readUInt32LE(body + 16) : buf.readUInt32BE(body + 16);
        const data = body + 20;
        if (capLen > MAX_RECORD_BYTES || data + capLen > bodyEnd) {
          throw new CaptureFormatError(`pcapng packet length ${capLen} does not fit its block`, base + pos);
        }
        // Longer than its interface's snaplen: read whole, as Wireshark does, and counted.
        if (iface.snaplen > 0 && capLen > iface.snaplen) this.stats?.add('capture.recordsOverSnaplen');
        this.lastTsMicros = ticksToMicros(iface, high, low);
        frame.tsMicros = this.lastTsMicros;
        frame.linkType = iface.linkType;
        frame.data = buf.subarray(data, data + capLen);
        frame.originalLength = origLen;
        frame.fileOffset = base + pos;
        this.frames++;
        onFrame(frame);
      } else if (type === SPB) {
        const iface = this.interfaces[0];
        if (iface === undefined) throw new CaptureFormatError('pcapng simple packet block before any interface', base + pos);
        if (bodyEnd - body < 4) throw new CaptureFormatError('pcapng simple packet block too short', base + pos);
        const origLen = le ? buf.readUInt32LE(body) : buf.readUInt32BE(body);
        let capLen = Math.min(origLen, bodyEnd - body - 4);
        if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
        frame.tsMicros = this.lastTsMicros;
        frame.linkType = iface.linkType;
        frame.data = buf.subarray(body + 4, body + 4 + capLen);
        frame.originalLength = origLen;
        frame.fileOffset = base + pos;
        this.frames++;
        onFrame(frame);
      } else if (type === IDB) {
        if (bodyEnd - body < 8) throw new CaptureFormatError('pcapng interface block too short', base + pos);
        if (this.interfaces.length >= MAX_INTERFACES) throw new CaptureFormatError('too many pcapng interfaces', base + pos);
        this.interfaces.push(parseInterface(buf, body, bodyEnd, le));
      } else if (type === PCAPNG_SHB) {
        if (length < 28) throw new CaptureFormatError('pcapng section header block too short', base + pos);
        // A new section: interface numbering starts again.
        this.interfaces = [];
      }
      pos = blockEnd;
    }
  }

  private readByteOrder(buf: Buffer, pos: number, base: number): void {
    const bom = buf.readUInt32LE(pos + 8);
    if (bom === BYTE_ORDER_MAGIC) this.littleEndian = true;
    else if (buf.readUInt32BE(pos + 8) === BYTE_ORDER_MAGIC) this.littleEndian = false;
    else throw new CaptureFormatError('pcapng section header has no valid byte-order magic', base + pos);
  }
}
