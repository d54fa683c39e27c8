// Counters for everything the engine drops, trims or cannot parse. Bounded structures count
// what they refuse instead of growing; the end-of-run summary and the tapper's /stats read
// these. Names are dotted paths, e.g. "tcp.bytesDropped.connectionCap".

export class Stats {
  private readonly counters = new Map<string, number>();

  add(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Every counter, unordered: for checks made often (--strict looks at losses per entry). */
  entries(): IterableIterator<[string, number]> {
    return this.counters.entries();
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => a.localeCompare(b)));
  }
}
