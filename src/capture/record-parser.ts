// The shape shared by the pcap and pcapng parsers that file-reader.ts drives. A parser is
// handed a buffer that starts at a record (block) boundary, delivers every complete record
// in it, and says how many bytes it consumed and how many it needs before it can go on.

import type { Frame } from './frame.js';

export interface RecordParser {
  /**
   * Parses complete records from `buf` (whose first byte is at stream offset `base`),
   * calling `onFrame` for each packet. Returns the bytes consumed; afterwards `need` is the
   * number of bytes, counted from the first unconsumed one, required to make progress.
   * Throws CaptureFormatError for corrupt records, after delivering the earlier ones.
   */
  parse(buf: Buffer, base: number, onFrame: (frame: Frame) => void): number;
  readonly need: number;
  readonly frames: number;
}

/** Largest packet record accepted (libpcap's MAXIMUM_SNAPLEN); larger means corrupt. */
export const MAX_RECORD_BYTES = 256 * 1024;

export function newFrame(): Frame {
  return { tsMicros: 0, linkType: 0, data: Buffer.alloc(0), originalLength: 0, fileOffset: 0 };
}
