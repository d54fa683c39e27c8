// Streams frames out of a pcap or pcapng capture arriving on any Readable (a file, stdin),
// in chunks of any size, with constant memory: only the bytes of one incomplete record are
// carried from a chunk to the next.
//
// The Frame passed to onFrame is one object reused for every frame, and its `data` is a
// view on the current chunk: both are valid only during the (synchronous) onFrame call.
// Consumers copy whatever they keep.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureFormatError } from '../errors.js';
import type { Stats } from '../stats.js';
import type { Frame } from './frame.js';
import { isPcapMagic, PcapParser } from './pcap.js';
import { isPcapngMagic, PcapngParser } from './pcapng.js';
import type { RecordParser } from './record-parser.js';

export interface ReadResult {
  frames: number;
  /** Bytes read from the input. */
  bytes: number;
}

const MAGIC_BYTES = 4;
/** Chunk size for files: big reads keep the per-chunk overhead out of the per-frame cost. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** `stats`, when given, counts what is odd but readable (capture.recordsOverSnaplen). */
export async function readCaptureStream(input: NodeJS.ReadableStream | Readable, onFrame: (frame: Frame) => void, stats?: Stats): Promise<ReadResult> {
  let parser: RecordParser | null = null;
  // Bytes received but not yet parsed: the start of an incomplete record, plus later chunks
  // until there are `need` bytes. Joined only once enough has arrived, so tiny chunks cost
  // one copy per record, not one per chunk.
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let need = MAGIC_BYTES;
  let base = 0;
  let bytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (data.length === 0) continue;
    bytes += data.length;
    pending.push(data);
    pendingBytes += data.length;
    if (pendingBytes < need) continue;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    parser ??= detect(buf, stats);
    const consumed = parser.parse(buf, base, onFrame);
    base += consumed;
    if (consumed < buf.length) pending.push(buf.subarray(consumed));
    pendingBytes = buf.length - consumed;
    need = parser.need;
  }
  if (parser === null) throw new CaptureFormatError('not a pcap or pcapng file', 0);
  if (pendingBytes > 0) throw new CaptureFormatError('capture ends in the middle of a record', base);
  return { frames: parser.frames, bytes };
}

/** Reads a capture file, or stdin for "-". */
export function readCaptureFile(path: string, onFrame: (frame: Frame) => void): Promise<ReadResult> {
  const input = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES });
  return readCaptureStream(input, onFrame);
}

function detect(buf: Buffer, stats: Stats | undefined): RecordParser {
  if (isPcapMagic(buf)) return new PcapParser(stats);
  if (isPcapngMagic(buf)) return new PcapngParser(stats);
  throw new CaptureFormatError('not a pcap or pcapng file', 0);
}
