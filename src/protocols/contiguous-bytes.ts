// The unconsumed bytes of one direction in one contiguous buffer, for text protocols that
// scan incrementally for a message end (HTTP/1 heads and chunk lines, Redis RESP). The buffer
// grows by doubling and compacts in place only when it runs out of room, so bytes arriving in
// many small pieces are copied a bounded number of times (Buffer.concat on every piece would
// be quadratic). Views into it are valid only until the next push. The caller bounds what it
// lets accumulate; framed binary protocols use ByteQueue (byte-queue.ts) instead. With an
// account, the buffer's capacity is charged to the memory budget, and a push the budget
// refuses is not made (push returns false: the caller drops the bytes as if lost, and counts).

import type { MemoryAccount } from '../memory/budget.js';

export class ContiguousBytes {
  private buf: Buffer = Buffer.alloc(0);
  /** The unconsumed bytes are bytes[start, end). */
  start = 0;
  end = 0;

  /**
   * @param keepCapacity an emptied buffer larger than this is given back to the heap.
   * @param account where the capacity is charged ('app.buffers'), if anywhere.
   */
  constructor(
    private readonly keepCapacity: number = 1024 * 1024,
    private readonly account: MemoryAccount | null = null,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  /** The whole backing buffer: the unconsumed bytes are at [start, end). */
  get bytes(): Buffer {
    return this.buf;
  }

  /** The unconsumed bytes, starting at 0. */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /**
   * Copies `data` in: the caller's buffer is only valid during its onData call. False (and
   * nothing copied) when the memory budget refused the room for it.
   */
  push(data: Buffer): boolean {
    if (this.end + data.length > this.buf.length) {
      const needed = this.length + data.length;
      if (needed <= this.buf.length) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const capacity = Math.max(4096, 2 ** Math.ceil(Math.log2(needed)));
        if (this.account !== null && !this.account.charge(capacity - this.buf.length)) return false;
        const grown = Buffer.allocUnsafe(capacity);
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.end -= this.start;
      this.start = 0;
    }
    data.copy(this.buf, this.end);
    this.end += data.length;
    return true;
  }

  /** Drops the first n bytes. */
  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    if (this.buf.length > this.keepCapacity) this.dropBuffer();
  }

  /** Empty, and the buffer given back whatever its size (the budget asked for it). */
  release(): void {
    this.start = 0;
    this.end = 0;
    this.dropBuffer();
  }

  private dropBuffer(): void {
    this.account?.release(this.buf.length);
    this.buf = Buffer.alloc(0);
  }
}
