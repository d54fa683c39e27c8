// A minimal pcapng writer (the format of draft-ietf-opsawg-pcapng): one section header, an
// interface description per (source, link type), enhanced packet blocks with microsecond
// timestamps. Little-endian, as every reader accepts. Writes are batched and synchronous:
// the session writes frames as the engine reads them, so nothing queues in memory.

import { closeSync, openSync, writeSync } from 'node:fs';

const BATCH_BYTES = 256 * 1024;
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
/** LINKTYPE snaplen written in interface blocks: the largest pcapng allows without a limit. */
const SNAPLEN = 262144;

export class PcapngWriter {
  private readonly fd: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private readonly interfaces = new Map<string, number>();
  packets = 0;

  constructor(path: string, comment: string) {
    this.fd = openSync(path, 'w');
    this.push(block(SHB, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), options([[OPT_COMMENT, comment]])])));
  }

  /** One interface per source (a file, a node) and link type, described on first use. */
  interfaceFor(source: string, linkType: number): number {
    const key = `${linkType}\u0000${source}`;
    let id = this.interfaces.get(key);
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(key, id);
      this.push(block(IDB, Buffer.concat([u16(linkType), u16(0), u32(SNAPLEN), options([[IF_NAME, source]])])));
    }
    return id;
  }

  writePacket(iface: number, tsMicros: number, data: Buffer, originalLength: number): void {
    const high = Math.floor(tsMicros / 2 ** 32);
    const low = tsMicros - high * 2 ** 32;
    const header = Buffer.alloc(20);
    header.writeUInt32LE(iface, 0);
    header.writeUInt32LE(high >>> 0, 4);
    header.writeUInt32LE(low >>> 0, 8);
    header.writeUInt32LE(data.length, 12);
    header.writeUInt32LE(originalLength, 16);
    this.push(block(EPB, Buffer.concat([header, data, pad(data.length)])));
    this.packets += 1;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private push(buf: Buffer): void {
    this.batch.push(buf);
    this.batchBytes += buf.length;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const data = Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    let at = 0;
    while (at < data.length) at += writeSync(this.fd, data, at);
  }
}

function block(type: number, body: Buffer): Buffer {
  const length = 12 + body.length;
  return Buffer.concat([u32(type), u32(length), body, u32(length)]);
}

function options(list: Array<[number, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, text] of list) {
    const value = Buffer.from(text, 'utf8');
    parts.push(u16(code), u16(value.length), value, pad(value.length));
  }
  parts.push(u16(OPT_ENDOFOPT), u16(0));
  return Buffer.concat(parts);
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
