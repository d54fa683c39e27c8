// What one connection's dissector keeps for entries not yet emitted (bodies being collected,
// gRPC messages), charged to the engine's one memory budget (src/memory/budget.ts) as kind
// 'app.bodies'. Each holder (a BodyCollector, a GrpcMessageReader) charges what it allocates
// and gives it back when its entry is emitted. When the budget asks this connection to
// shed, its largest holders let their kept bytes go first (the budget's policy for bytes
// waiting on something: one large body back instead of many small ones cut); a holder that
// shed says so in its entry and counts the loss under its protocol's name.

import type { MemoryAccount, MemoryBudget, MemoryKind } from '../memory/budget.js';
import { ActivityList, type ActivityNode } from '../activity-list.js';

/** Fixed cost of one kept chunk besides its bytes: the Buffer object and its backing store. */
export const CHUNK_COST = 128;

/** prev/next: its place in its connection's KeptBytes list. */
export interface SheddableHolder extends ActivityNode<SheddableHolder> {
  /** Bytes (with CHUNK_COST per chunk) the holder has charged and not given back. */
  readonly chargedBytes: number;
  /** Let go of everything kept (calling give() for it) and remember that it did. */
  shed(): void;
}

export class KeptBytes {
  private readonly account;
  /**
   * Holders with bytes charged, in the order they first took some. A list through the
   * holders, not a Set: one holder joins and leaves per body or message, and a Set churned
   * like that gets a new hash table every few calls, each old one linked to the next. Until a
   * full GC a dead table in the old generation keeps its successor, and the holders in it,
   * alive through scavenges: on the AMQP bench capture those tables were 31% of what was
   * promoted, each holding bodies and messages already emitted.
   */
  private readonly holders = new ActivityList<SheddableHolder>();

  constructor(memory: MemoryBudget, kind: MemoryKind = 'app.bodies') {
    this.account = memory.account(kind, (want) => this.shed(want));
  }

  /** Charges `n` bytes for `holder`; false (nothing charged) when the budget refused them. */
  take(holder: SheddableHolder, n: number): boolean {
    if (!this.account.charge(n)) return false;
    if (!this.holders.has(holder)) this.holders.append(holder);
    return true;
  }

  give(holder: SheddableHolder, n: number): void {
    this.account.release(n);
    if (holder.chargedBytes <= 0 && this.holders.has(holder)) this.holders.remove(holder);
  }

  /** The connection ended: whatever is still charged is let go with it. */
  close(): void {
    this.holders.clear();
    this.account.close();
  }

  private shed(want: number): void {
    const largestFirst: SheddableHolder[] = [];
    for (let h = this.holders.head; h !== null; h = h.next) largestFirst.push(h);
    largestFirst.sort((a, b) => b.chargedBytes - a.chargedBytes);
    let freed = 0;
    for (const holder of largestFirst) {
      if (freed >= want) break;
      freed += holder.chargedBytes;
      holder.shed();
      if (this.holders.has(holder)) this.holders.remove(holder);
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
