// The shared state every direction of every connection consults when it buffers out-of-order
// bytes: the limits, the Stats sink, and the byte total across all connections (with the set
// of directions currently holding bytes, so the largest can be forced to gap-skip when the
// total would go over maxBufferedTotal).

import type { Stats } from '../stats.js';
import type { TcpLimits } from './limits.js';

/** What the budget needs from a direction that holds buffered bytes. */
export interface BufferHolder {
  readonly bufferedBytes: number;
  /** Give up waiting for every hole: deliver all buffered bytes, with gaps for the holes. */
  flushBuffered(tsMicros: number): void;
}

export class BufferBudget {
  /** Out-of-order bytes held across all connections. */
  total = 0;
  private readonly holders = new Set<BufferHolder>();

  constructor(
    readonly limits: TcpLimits,
    readonly stats: Stats,
  ) {}

  /** A holder's buffered byte count changed by `delta` (its bufferedBytes is already updated). */
  update(holder: BufferHolder, delta: number): void {
    this.total += delta;
    if (holder.bufferedBytes > 0) this.holders.add(holder);
    else this.holders.delete(holder);
  }

  /** The direction holding the most buffered bytes (undefined when nothing is buffered). */
  largest(): BufferHolder | undefined {
    let best: BufferHolder | undefined;
    for (const holder of this.holders) {
      if (best === undefined || holder.bufferedBytes > best.bufferedBytes) best = holder;
    }
    return best;
  }
}
