// Recently closed 4-tuples. After both FINs or a RST the connection is removed; packets that
// still arrive for it (the last ACK, a retransmitted FIN) must not open a phantom midstream
// connection, so the tuple is remembered for a while. Bounded: the oldest is forgotten first
// (Map iteration order is insertion order, which is close order).

export class ClosedTuples {
  private readonly closedAt = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  remember(key: string, tsMicros: number): void {
    this.closedAt.delete(key);
    this.closedAt.set(key, tsMicros);
    if (this.closedAt.size > this.maxEntries) {
      const oldest = this.closedAt.keys().next();
      if (oldest.done !== true) this.closedAt.delete(oldest.value);
    }
  }

  has(key: string): boolean {
    return this.closedAt.has(key);
  }

  forget(key: string): void {
    this.closedAt.delete(key);
  }

  /** Forget tuples closed before `cutoffMicros`. */
  expire(cutoffMicros: number): void {
    for (const [key, ts] of this.closedAt) {
      if (ts >= cutoffMicros) break;
      this.closedAt.delete(key);
    }
  }

  clear(): void {
    this.closedAt.clear();
  }
}
