// The per-connection bound on payload bytes kept for entries not yet emitted. Streams borrow
// from it while their bodies arrive and give back when their entry is emitted.

/** Payload bytes one connection may keep at once across its open streams. */
export const CONNECTION_KEPT_BYTES = 32 * 1024 * 1024;

export class ByteBudget {
  constructor(public left: number = CONNECTION_KEPT_BYTES) {}

  /** How many of `want` bytes may be kept (and takes them). */
  take(want: number): number {
    const granted = want <= this.left ? want : this.left;
    this.left -= granted;
    return granted;
  }

  give(bytes: number): void {
    this.left += bytes;
  }
}
