// A growable byte buffer for the few bytes of a message head (or chunk line) that span
// TCP segments. Appending copies once into spare capacity, so a head arriving a byte at a
// time costs O(n), not the O(n^2) of concatenating per segment.

export class ByteAccumulator {
  private buf: Buffer = Buffer.alloc(0);
  length = 0;

  append(data: Buffer): void {
    const need = this.length + data.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 1024));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    data.copy(this.buf, this.length);
    this.length = need;
  }

  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** Drops the first n bytes. */
  consume(n: number): void {
    if (n >= this.length) return this.clear();
    this.buf.copy(this.buf, 0, n, this.length);
    this.length -= n;
  }

  clear(): void {
    this.length = 0;
    // Give back memory a huge head borrowed; keep a small buffer for the next one.
    if (this.buf.length > 64 * 1024) this.buf = Buffer.alloc(0);
  }
}
