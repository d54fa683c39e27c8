// What one connection's dissector keeps for entries not yet emitted (bodies being collected,
// gRPC messages), charged to the engine's one memory budget (src/memory/budget.ts) as kind
// 'app.bodies'. Each holder (a BodyCollector, a GrpcMessageReader) charges what it allocates
// and gives it back when its entry is emitted. When the budget asks this connection to
// shed, its largest holders let their kept bytes go first (the budget's policy for bytes
// waiting on something: one large body back instead of many small ones cut); a holder that
// shed says so in its entry and counts the loss under its protocol's name.

import type { MemoryAccount, MemoryBudget, MemoryKind } from '../memory/budget.js';

/** Fixed cost of one kept chunk besides its bytes: the Buffer object and its backing store. */
export const CHUNK_COST = 128;

export interface SheddableHolder {
  /** Bytes (with CHUNK_COST per chunk) the holder has charged and not given back. */
  readonly chargedBytes: number;
  /** Let go of everything kept (calling give() for it) and remember that it did. */
  shed(): void;
}

export class KeptBytes {
  private readonly account;
  private readonly holders = new Set<SheddableHolder>();

  constructor(memory: MemoryBudget, kind: MemoryKind = 'app.bodies') {
    this.account = memory.account(kind, (want) => this.shed(want));
  }

  /** Charges `n` bytes for `holder`; false (nothing charged) when the budget refused them. */
  take(holder: SheddableHolder, n: number): boolean {
    if (!this.account.charge(n)) return false;
    this.holders.add(holder);
    return true;
  }

  give(holder: SheddableHolder, n: number): void {
    this.account.release(n);
    if (holder.chargedBytes <= 0) this.holders.delete(holder);
  }

  /** The connection ended: whatever is still charged is let go with it. */
  close(): void {
    this.holders.clear();
    this.account.close();
  }

  private shed(want: number): void {
    const largestFirst = [...this.holders].sort((a, b) => b.chargedBytes - a.chargedBytes);
    let freed = 0;
    for (const holder of largestFirst) {
      if (freed >= want) break;
      freed += holder.chargedBytes;
      holder.shed();
      this.holders.delete(holder);
    }
  }
}

/**
 * A buffer's charge on an account, kept equal to what the buffer holds: grow() before it
 * takes more (false: refused, take nothing), settle() after it let some go.
 */
export class HeldCharge {
  private charged = 0;

  constructor(private readonly account: MemoryAccount | null) {}

  grow(n: number): boolean {
    if (this.account === null) return true;
    if (!this.account.charge(n)) return false;
    this.charged += n;
    return true;
  }

  /** `now`: what the buffer holds now (its bytes, and CHUNK_COST a piece). */
  settle(now: number): void {
    if (this.account === null || now >= this.charged) return;
    this.account.release(this.charged - now);
    this.charged = now;
  }
}
