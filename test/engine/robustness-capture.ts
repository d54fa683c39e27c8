// A capture file as an editable list of records, so the mutators can corrupt what is inside
// packets while keeping the pcap/pcapng framing valid (otherwise almost every corruption
// would stop at the file reader and never reach reassembly or the dissectors). Each packet
// is annotated with where its IP, transport and application bytes are, found with the
// engine's own decoder. Parsed here rather than with src/capture because the reader streams
// read-only views and forgets record boundaries; this keeps them, and can write a file back.

import { readFileSync } from 'node:fs';
import type { Frame } from '../../src/capture/frame.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { parseLink } from '../../src/decode/link.js';
import { Stats } from '../../src/stats.js';

/** Where the layers of one packet are inside its frame bytes (absent: not TCP/UDP over IP). */
export interface Layers {
  ipOffset: number;
  ipVersion: 4 | 6;
  transport: 'tcp' | 'udp';
  transportOffset: number;
  payloadOffset: number;
  payloadLength: number;
  /** Direction of the flow, "src|sport|dst|dport", to shift later sequence numbers consistently. */
  flow: string;
  reverseFlow: string;
}

export interface PacketRecord {
  kind: 'packet';
  littleEndian: boolean;
  /** pcap: seconds and fraction; pcapng: timestamp high and low words. */
  tsHigh: number;
  tsLow: number;
  interfaceId: number;
  linkType: number;
  origLen: number;
  data: Buffer;
  layers?: Layers;
}

/** pcapng blocks other than Enhanced Packet Blocks (section and interface headers...), copied verbatim. */
export interface RawRecord {
  kind: 'raw';
  bytes: Buffer;
}

export type CaptureRecord = PacketRecord | RawRecord;

export interface CaptureModel {
  name: string;
  format: 'pcap' | 'pcapng';
  /** pcap global header (empty for pcapng). */
  header: Buffer;
  records: CaptureRecord[];
}

const PCAP_HEADER = 24;
const PCAP_RECORD = 16;
const EPB = 6;
const SHB = 0x0a0d0d0a;

export function loadCapture(path: string, name: string): CaptureModel {
  const buf = readFileSync(path);
  const model = buf.readUInt32LE(0) === SHB ? parsePcapng(buf, name) : parsePcap(buf, name);
  annotate(model);
  return model;
}

function parsePcap(buf: Buffer, name: string): CaptureModel {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const linkType = u32(20) & 0x03ffffff;
  const records: CaptureRecord[] = [];
  let pos = PCAP_HEADER;
  while (pos + PCAP_RECORD <= buf.length) {
    const incl = u32(pos + 8);
    if (pos + PCAP_RECORD + incl > buf.length) break;
    records.push({
      kind: 'packet',
      littleEndian: le,
      tsHigh: u32(pos),
      tsLow: u32(pos + 4),
      interfaceId: 0,
      linkType,
      origLen: u32(pos + 12),
      data: Buffer.from(buf.subarray(pos + PCAP_RECORD, pos + PCAP_RECORD + incl)),
    });
    pos += PCAP_RECORD + incl;
  }
  return { name, format: 'pcap', header: Buffer.from(buf.subarray(0, PCAP_HEADER)), records };
}

function parsePcapng(buf: Buffer, name: string): CaptureModel {
  const records: CaptureRecord[] = [];
  let le = true;
  let linkTypes: number[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    if (buf.readUInt32LE(pos) === SHB) {
      le = buf.readUInt32LE(pos + 8) === 0x1a2b3c4d;
      linkTypes = [];
    }
    const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    const type = u32(pos);
    const length = u32(pos + 4);
    if (length < 12 || pos + length > buf.length) break;
    if (type === 1) linkTypes.push(le ? buf.readUInt16LE(pos + 8) : buf.readUInt16BE(pos + 8));
    if (type === EPB && length >= 32) {
      const iface = u32(pos + 8);
      const capLen = u32(pos + 20);
      records.push({
        kind: 'packet',
        littleEndian: le,
        tsHigh: u32(pos + 12),
        tsLow: u32(pos + 16),
        interfaceId: iface,
        linkType: linkTypes[iface] ?? 1,
        origLen: u32(pos + 24),
        data: Buffer.from(buf.subarray(pos + 28, pos + 28 + capLen)),
      });
    } else {
      records.push({ kind: 'raw', bytes: Buffer.from(buf.subarray(pos, pos + length)) });
    }
    pos += length;
  }
  return { name, format: 'pcapng', header: Buffer.alloc(0), records };
}

/** Finds each packet's layers with the engine's decoder (fragmented packets stay unannotated). */
function annotate(model: CaptureModel): void {
  const stats = new Stats();
  const decoder = new PacketDecoder(stats);
  const link = { ipOffset: 0 };
  for (const record of model.records) {
    if (record.kind !== 'packet') continue;
    const data = record.data;
    const frame: Frame = { tsMicros: 0, linkType: record.linkType, data, originalLength: record.origLen, fileOffset: 0 };
    const packet = decoder.decode(frame);
    if (!packet || packet.payload.buffer !== data.buffer) continue;
    const payloadOffset = packet.payload.byteOffset - data.byteOffset;
    if (payloadOffset < 0 || payloadOffset > data.length) continue;
    const ipVersion = parseLink(data, record.linkType, stats, link);
    if (ipVersion === 0) continue;
    const transportOffset = packet.transport === 'udp' ? payloadOffset - 8 : findTcpHeader(data, payloadOffset, packet.srcPort, packet.dstPort, packet.seq);
    if (transportOffset < link.ipOffset) continue;
    record.layers = {
      ipOffset: link.ipOffset,
      ipVersion,
      transport: packet.transport,
      transportOffset,
      payloadOffset,
      payloadLength: packet.payload.length,
      flow: `${packet.srcIp}|${packet.srcPort}|${packet.dstIp}|${packet.dstPort}`,
      reverseFlow: `${packet.dstIp}|${packet.dstPort}|${packet.srcIp}|${packet.srcPort}`,
    };
  }
}

/** The TCP header ends where the payload starts; it is 20 to 60 bytes long and starts with the ports and seq. */
function findTcpHeader(data: Buffer, payloadOffset: number, srcPort: number, dstPort: number, seq: number): number {
  for (let length = 20; length <= 60 && payloadOffset - length >= 0; length += 4) {
    const at = payloadOffset - length;
    if (data.readUInt16BE(at) === srcPort && data.readUInt16BE(at + 2) === dstPort && data.readUInt32BE(at + 4) === seq && (data[at + 12]! >> 4) * 4 === length) {
      return at;
    }
  }
  return -1;
}

export interface Serialized {
  bytes: Buffer;
  /** File offset of each record's header (pcap record header, pcapng block), in model order. */
  recordOffsets: number[];
}

/** Writes the model back as a capture file: pcap records or pcapng Enhanced Packet Blocks (options dropped). */
export function serialize(model: CaptureModel): Serialized {
  const parts: Buffer[] = [model.header];
  const recordOffsets: number[] = [];
  let offset = model.header.length;
  for (const record of model.records) {
    recordOffsets.push(offset);
    if (record.kind === 'raw') {
      parts.push(record.bytes);
      offset += record.bytes.length;
      continue;
    }
    const le = record.littleEndian;
    if (model.format === 'pcap') {
      const head = Buffer.alloc(PCAP_RECORD);
      write32(head, 0, record.tsHigh, le);
      write32(head, 4, record.tsLow, le);
      write32(head, 8, record.data.length, le);
      write32(head, 12, record.origLen, le);
      parts.push(head, record.data);
      offset += PCAP_RECORD + record.data.length;
    } else {
      const padded = (record.data.length + 3) & ~3;
      const total = 32 + padded;
      const block = Buffer.alloc(total);
      write32(block, 0, EPB, le);
      write32(block, 4, total, le);
      write32(block, 8, record.interfaceId, le);
      write32(block, 12, record.tsHigh, le);
      write32(block, 16, record.tsLow, le);
      write32(block, 20, record.data.length, le);
      write32(block, 24, record.origLen, le);
      record.data.copy(block, 28);
      write32(block, total - 4, total, le);
      parts.push(block);
      offset += total;
    }
  }
  return { bytes: Buffer.concat(parts, offset), recordOffsets };
}

function write32(buf: Buffer, at: number, value: number, le: boolean): void {
  if (le) buf.writeUInt32LE(value >>> 0, at);
  else buf.writeUInt32BE(value >>> 0, at);
}
