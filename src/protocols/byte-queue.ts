// A queue of one direction's bytes for length-prefixed protocols (Kafka, DNS over TCP, TLS
// records). Chunks are copied on arrival (the engine reuses its buffers) and joined only
// when a caller needs a contiguous view, so a frame split over many segments costs one copy,
// not one per segment. The caller bounds what it lets accumulate.
//
// Why not ContiguousBytes (contiguous-bytes.ts, used by HTTP/1 and Redis): these callers know
// a frame's length from its prefix and peek it once whole, so they never rescan a growing
// buffer; in exchange, views they get stay valid after later pushes (chunks are never
// compacted in place, and Kafka's reader hands out subarrays of a frame), and a consumed
// frame's memory is freed at once instead of staying as the buffer's high-water mark.
// With an account, what is queued (bytes, and a fixed cost per chunk) is charged to the
// memory budget, and a push the budget refuses is not made (push returns false: the caller
// drops the bytes as if lost, and counts).

import type { MemoryAccount } from '../memory/budget.js';
import { CHUNK_COST, HeldCharge } from './kept-bytes.js';

export class ByteQueue {
  private chunks: Buffer[] = [];
  private total = 0;
  private readonly charge: HeldCharge;

  constructor(account: MemoryAccount | null = null) {
    this.charge = new HeldCharge(account);
  }

  get length(): number {
    return this.total;
  }

  /** Copies `data` in; false (nothing queued) when the memory budget refused it. */
  push(data: Buffer): boolean {
    if (data.length === 0) return true;
    if (!this.charge.grow(data.length + CHUNK_COST)) return false;
    this.chunks.push(Buffer.from(data));
    this.total += data.length;
    return true;
  }

  /** The first `n` bytes as one buffer (n <= length); joins chunks when needed. */
  peek(n: number): Buffer {
    if (n > this.total) throw new RangeError(`peek ${n} of ${this.total}`);
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const joined = Buffer.concat(this.chunks, this.total);
    this.chunks = [joined];
    this.settle();
    return joined.subarray(0, n);
  }

  /** Drop the first `n` bytes (n <= length). */
  consume(n: number): void {
    let left = Math.min(n, this.total);
    this.total -= left;
    while (left > 0) {
      const head = this.chunks[0];
      if (head.length <= left) {
        left -= head.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.settle();
  }

  clear(): void {
    this.chunks = [];
    this.total = 0;
    this.settle();
  }

  private settle(): void {
    this.charge.settle(this.total + this.chunks.length * CHUNK_COST);
  }
}
