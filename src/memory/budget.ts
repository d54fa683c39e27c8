// The one memory budget (issue 8): every structure of the engine that grows with the input
// charges its bytes here and releases them when it lets go, so one limit (--memory-budget,
// default 256 MiB; the tapper constructs its Engine with the same option) bounds the sum of
// reassembly buffers, the connection table, UDP flows, DNS queries, IP fragments and the
// application layer's pending requests, bodies, header lists and parse buffers.
//
// How a holder uses it (a dissector gets the budget as `ctx.memory`):
//
//   const account = ctx.memory.account('app.bodies', (want) => this.shedBodies(want));
//   if (account.charge(n)) keep(n bytes); else { drop or truncate them; stats.add('http.bodyBytesShed', n) }
//   ...
//   account.release(n);        // when those bytes are let go (entry emitted, buffer consumed)
//   account.close();           // when the holder ends (onEnd): releases whatever is left
//
// - charge() never lets the total pass the limit. When it would, the budget first sheds
//   OTHER accounts (below); if that is not enough, or the charging account itself is the
//   one that should shed, charge() returns false and charges nothing: the caller must then
//   drop, truncate or shed its own (oldest) item and count that loss under its own name.
// - The shed callback is called with the number of bytes the budget would like back. It
//   must give up something of its own (emit a pending request without its response, cut a
//   body short, gap-skip a hole, evict a connection), call release() for it, and count the
//   loss by reason. It may free less than asked, or nothing (the budget then moves on).
// - A charge made while the budget is shedding (a flushed buffer delivers bytes to a parser
//   that charges for them) is granted if it fits and refused otherwise: no nested shedding.
// - Charge what is really held, honestly estimated: bytes copied plus a fixed cost per
//   object kept (see the *_COST constants where they are defined); views on the packet
//   that are let go before onData returns are not held.
//
// Shedding policy, and why:
// - Across kinds, the kind holding the most bytes is shed first. Hostile input grows one
//   kind (holes, connections, queries, bodies); taking from the largest takes from the one
//   under attack and leaves the small, healthy rest of the traffic alone.
// - Within a kind, by what is least likely to complete or matter:
//   * largest first for bytes waiting on something (out-of-order segments behind a hole,
//     bodies and messages being collected, header lists, parse buffers, detection probes):
//     one large holder is one connection's loss for many bytes back, where oldest-first
//     would cut many small, healthy holders to free the same amount;
//   * oldest first for things waiting on an answer (pending requests, DNS queries, IP
//     fragments, flows, connections): the longer a response or a fragment has not come, the
//     less likely it is to come; this is what endpoints do too (retransmission timeouts,
//     the fragment reassembly timeout, TIME_WAIT recycling).
// - Tables that are one account each (the TCP connection table, the UDP flow table, the IP
//   fragment reassembler) apply "oldest first" themselves, in their own activity order.
// - Shedding goes a little below the limit (to LOW_WATER), so that under steady hostile
//   load the budget sheds in batches instead of on every packet.
//
// Everything shed is counted: memory.shedBytes.<kind> and memory.sheds.<kind> here, and
// memory.refused.<kind> for every refused charge; the holder counts what the loss meant
// (tcp.gapBytes, dns.pendingShed, ...). memory.peakBytes is the highest total charged.

import type { Stats } from '../stats.js';

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;

/** Smallest budget accepted: below this the engine cannot hold one large connection's buffers. */
export const MIN_MEMORY_BUDGET = 4 * 1024 * 1024;

/** What is charged. Kinds are the unit of the cross-kind policy and of the counters. */
export type MemoryKind =
  /** Out-of-order TCP segments waiting for a hole to fill. */
  | 'tcp.reorder'
  /** The TCP connection table: a fixed cost per tracked connection. */
  | 'tcp.connections'
  /** Bytes kept per connection until a dissector claims it (the detection probe). */
  | 'tcp.probe'
  /** The UDP flow table: a fixed cost per flow. */
  | 'udp.flows'
  /** DNS queries waiting for their response. */
  | 'dns.pending'
  /** IPv4/IPv6 fragments waiting for the rest of their datagram. */
  | 'ip.fragments'
  /** Application requests waiting for their response (HTTP, Redis, Kafka, AMQP, gRPC calls). */
  | 'app.pending'
  /** Bodies and messages being collected for an entry not yet emitted. */
  | 'app.bodies'
  /** Decoded header lists and header blocks being collected (HPACK, CONTINUATION). */
  | 'app.headers'
  /** Bytes a parser holds while waiting for a complete frame or message. */
  | 'app.buffers';

export type ShedOrder = 'largest' | 'oldest';

/** Within a kind, which account is asked to shed first (see the header for why). */
export const SHED_ORDER: Readonly<Record<MemoryKind, ShedOrder>> = {
  'tcp.reorder': 'largest',
  'tcp.connections': 'oldest',
  'tcp.probe': 'largest',
  'udp.flows': 'oldest',
  'dns.pending': 'oldest',
  'ip.fragments': 'oldest',
  'app.pending': 'oldest',
  'app.bodies': 'largest',
  'app.headers': 'largest',
  'app.buffers': 'largest',
};

const KINDS = Object.keys(SHED_ORDER) as MemoryKind[];

/** Shedding frees down to this fraction of the limit, so sheds come in batches. */
const LOW_WATER = 15 / 16;

/** Asked to give back about `want` bytes; releases what it frees through its account. */
export type Shedder = (want: number) => void;

export class MemoryAccount {
  /** Bytes this account holds now. */
  bytes = 0;
  /** Set while the account holds bytes; its position gives "oldest" order. */
  private listed = false;
  private closed = false;

  constructor(
    private readonly budget: MemoryBudget,
    readonly kind: MemoryKind,
    readonly shed: Shedder | null,
  ) {}

  /** Take `n` bytes; false (nothing taken) when the budget cannot make room for them. */
  charge(n: number): boolean {
    if (n <= 0) return true;
    if (this.closed) return false;
    if (!this.budget.reserve(this, n)) return false;
    this.bytes += n;
    if (!this.listed) {
      this.listed = true;
      this.budget.list(this);
    }
    return true;
  }

  /** Give back `n` bytes (at most what the account holds). */
  release(n: number): void {
    if (n <= 0) return;
    const freed = n < this.bytes ? n : this.bytes;
    this.bytes -= freed;
    this.budget.unreserve(this.kind, freed);
    if (this.bytes === 0 && this.listed) {
      this.listed = false;
      this.budget.unlist(this);
    }
  }

  /** Release everything and stop charging: the holder is gone. */
  close(): void {
    this.release(this.bytes);
    this.closed = true;
  }
}

export class MemoryBudget {
  /** Bytes charged now, across all kinds. */
  used = 0;
  /** Highest `used` seen. */
  peak = 0;
  private readonly byKind = new Map<MemoryKind, number>(KINDS.map((k) => [k, 0]));
  /** Accounts holding bytes, per kind, in the order they started holding them. */
  private readonly holders = new Map<MemoryKind, Set<MemoryAccount>>(KINDS.map((k) => [k, new Set()]));
  private shedding = false;

  constructor(
    readonly limit: number,
    private readonly stats: Stats,
  ) {}

  /** A holder of `kind`; `shed` lets the budget take bytes back from it (null: it cannot shed). */
  account(kind: MemoryKind, shed: Shedder | null = null): MemoryAccount {
    return new MemoryAccount(this, kind, shed);
  }

  usedBy(kind: MemoryKind): number {
    return this.byKind.get(kind) ?? 0;
  }

  /** Would `n` more bytes fit without shedding anything? */
  fits(n: number): boolean {
    return this.used + n <= this.limit;
  }

  /** @internal MemoryAccount.charge: make room for `n` bytes and count them, or refuse. */
  reserve(account: MemoryAccount, n: number): boolean {
    if (this.used + n > this.limit && !this.makeRoom(account, n)) {
      this.stats.add(`memory.refused.${account.kind}`);
      return false;
    }
    this.used += n;
    this.byKind.set(account.kind, this.byKind.get(account.kind)! + n);
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** @internal */
  unreserve(kind: MemoryKind, n: number): void {
    this.used -= n;
    this.byKind.set(kind, this.byKind.get(kind)! - n);
  }

  /** @internal */
  list(account: MemoryAccount): void {
    this.holders.get(account.kind)!.add(account);
  }

  /** @internal */
  unlist(account: MemoryAccount): void {
    this.holders.get(account.kind)!.delete(account);
  }

  /** Figures for the end-of-run summary and /stats (bytes). */
  snapshot(): { limit: number; used: number; peak: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    for (const [kind, bytes] of this.byKind) if (bytes > 0) byKind[kind] = bytes;
    return { limit: this.limit, used: this.used, peak: this.peak, byKind };
  }

  /**
   * Shed other accounts, largest kind first, until `n` more bytes fit with some margin.
   * False when they do not fit: nothing left to shed, nested in another shed, or the
   * requester itself is the account the policy would shed (it sheds its own, knowing what).
   */
  private makeRoom(requester: MemoryAccount, n: number): boolean {
    if (this.shedding || n > this.limit) return false;
    this.shedding = true;
    const target = Math.min(this.limit - n, Math.floor(this.limit * LOW_WATER));
    const tried = new Set<MemoryAccount>();
    try {
      while (this.used > target) {
        const victim = this.pickVictim(tried);
        if (victim === undefined) break;
        if (victim === requester) break;
        tried.add(victim);
        const before = victim.bytes;
        victim.shed!(this.used - target);
        const freed = before - victim.bytes;
        if (freed > 0) {
          this.stats.add(`memory.sheds.${victim.kind}`);
          this.stats.add(`memory.shedBytes.${victim.kind}`, freed);
          if (victim.bytes > 0) tried.delete(victim); // it may give more on the next round
        }
      }
    } finally {
      this.shedding = false;
    }
    return this.used + n <= this.limit;
  }

  /** The account to shed next: in the kind holding the most, by that kind's order. */
  private pickVictim(tried: Set<MemoryAccount>): MemoryAccount | undefined {
    const kinds = KINDS.filter((k) => this.byKind.get(k)! > 0).sort((a, b) => this.byKind.get(b)! - this.byKind.get(a)!);
    for (const kind of kinds) {
      let best: MemoryAccount | undefined;
      for (const account of this.holders.get(kind)!) {
        if (account.shed === null || tried.has(account)) continue;
        if (SHED_ORDER[kind] === 'oldest') {
          best = account;
          break;
        }
        if (best === undefined || account.bytes > best.bytes) best = account;
      }
      if (best !== undefined) return best;
    }
    return undefined;
  }
}
