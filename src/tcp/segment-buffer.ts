// The out-of-order store of one direction: copied segments kept sorted by sequence number
// and disjoint (an arriving segment is trimmed against what is already held, so duplicates
// and overlapping retransmissions never take memory twice). Sizes are small in practice
// (a few segments waiting for one hole), so a sorted array with splice beats a tree.

import { seqAdd, seqDiff } from './seq.js';

export interface Segment {
  seq: number;
  data: Buffer;
}

export class SegmentBuffer {
  private readonly segments: Segment[] = [];
  /** Bytes held. */
  bytes = 0;

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
    segs.splice(i, 0, { seq: start, data: Buffer.from(bytes) });
    this.bytes += bytes.length;
    return this.bytes - before;
  }

  clear(): void {
    this.segments.length = 0;
    this.bytes = 0;
  }
}
