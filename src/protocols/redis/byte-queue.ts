// The unconsumed bytes of one direction in a buffer that grows by doubling and compacts in
// place, so that bytes arriving in many small pieces are copied a bounded number of times
// (Buffer.concat on every piece would be quadratic). Views into it are valid until the next push.

export class ByteQueue {
  private buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  get length(): number {
    return this.end - this.start;
  }

  get bytes(): Buffer {
    return this.buf;
  }

  push(data: Buffer): void {
    if (this.end + data.length > this.buf.length) {
      const needed = this.length + data.length;
      if (needed <= this.buf.length) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(4096, 2 ** Math.ceil(Math.log2(needed))));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.end -= this.start;
      this.start = 0;
    }
    data.copy(this.buf, this.end);
    this.end += data.length;
  }

  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    // Give a large buffer back once it is empty.
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.alloc(0);
  }
}
