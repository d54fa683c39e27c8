// The out-of-order store of one direction: copied segments kept sorted by sequence number
// and disjoint (an arriving segment is trimmed against what is already held, so duplicates
// and overlapping retransmissions never take memory twice). Sizes are small in practice
// (a few segments waiting for one hole), so a sorted array with splice beats a tree.

import { seqAdd, seqDiff } from './seq.js';

export interface Segment {
  seq: number;
  data: Buffer;
}

/**
 * Memory a held segment costs beyond its bytes: the Segment object, the Buffer object and
 * its own ArrayBuffer (copies are not taken from the shared pool, so one small segment
 * cannot pin an 8 KiB pool slab), and its slot in the array. Measured with
 * scripts/measure-memory-costs.ts (258 bytes a 1-byte segment).
 */
export const SEGMENT_OVERHEAD = 260;

export class SegmentBuffer {
  private readonly segments: Segment[] = [];
  /** Bytes held. */
  bytes = 0;

  /** What this buffer holds in memory: the bytes plus a fixed overhead per segment. */
  get cost(): number {
    return this.bytes + this.segments.length * SEGMENT_OVERHEAD;
  }

  get isEmpty(): boolean {
    return this.segments.length === 0;
  }

  /** The segment with the lowest sequence number; undefined when empty. */
  first(): Segment | undefined {
    return this.segments[0];
  }

  shift(): Segment | undefined {
    const seg = this.segments.shift();
    if (seg !== undefined) this.bytes -= seg.data.length;
    return seg;
  }

  /**
   * Keep a copy of the bytes of `data` (starting at `seq`) that no held segment already has.
   * Returns the change in bytes held (may be negative when the new segment covers held ones).
   */
  insert(seq: number, data: Buffer): number {
    const segs = this.segments;
    const before = this.bytes;
    // Scan from the end: arrivals are mostly ascending, so this is usually one step.
    let i = segs.length;
    while (i > 0 && seqDiff(segs[i - 1]!.seq, seq) > 0) i--;
    let start = seq;
    let bytes = data;
    if (i > 0) {
      const pred = segs[i - 1]!;
      const overlap = seqDiff(seqAdd(pred.seq, pred.data.length), start);
      if (overlap >= bytes.length) return 0;
      if (overlap > 0) {
        bytes = bytes.subarray(overlap);
        start = seqAdd(start, overlap);
      }
    }
    const end = seqAdd(start, bytes.length);
    while (i < segs.length && seqDiff(end, segs[i]!.seq) > 0) {
      const succ = segs[i]!;
      if (seqDiff(seqAdd(succ.seq, succ.data.length), end) <= 0) {
        segs.splice(i, 1);
        this.bytes -= succ.data.length;
      } else {
        bytes = bytes.subarray(0, seqDiff(succ.seq, start));
        break;
      }
    }
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(copy);
    segs.splice(i, 0, { seq: start, data: copy });
    this.bytes += bytes.length;
    return this.bytes - before;
  }

  clear(): void {
    this.segments.length = 0;
    this.bytes = 0;
  }
}
