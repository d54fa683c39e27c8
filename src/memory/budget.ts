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
// memory.overBudget.<kind> for every refused charge; the holder counts what the loss meant
// (tcp.gapBytes, dns.pendingShed, ...). memory.peakBytes is the highest total charged.

import type { Stats } from '../stats.js';
import { ActivityList, type ActivityNode } from '../activity-list.js';

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;

/**
 * What the process needs besides the engine's structures: the runtime, the code and the I/O
 * buffers. `kubectl tap read` on an empty capture peaks at 52 MB RSS.
 */
export const RUNTIME_RESERVE = 48 * 1024 * 1024;

/**
 * The share of the rest that the engine may charge. The remainder is slack for what the
 * garbage collector and the allocator hold beyond live objects (let go, not yet collected;
 * freed, not yet returned). Measured on the hostile shapes (test/hostile): peak RSS is about
 * 52 MB plus 1.34 times the bytes charged when they are buffers (out-of-order segments), and
 * up to 1.93 times when they are many small objects churning (1,000,000 DNS clients, the flow
 * table full: 303 MB at a share of 0.6), so half is left.
 */
const HELD_SHARE = 0.5;

/** Smallest --memory-budget accepted: below it the engine could not hold one connection's buffers. */
export const MIN_MEMORY_BUDGET = 64 * 1024 * 1024;

/**
 * The bytes the engine may charge when the whole process is to stay within `budget`
 * (--memory-budget is what a user sees: the process's peak RSS).
 */
export function chargeableBytes(budget: number): number {
  return Math.floor(Math.max(budget - RUNTIME_RESERVE, MIN_MEMORY_BUDGET - RUNTIME_RESERVE) * HELD_SHARE);
}

/**
 * After this share of the limit was shed, a full GC is asked for (when the runtime exposes
 * it: dist/kubectl-tap runs with --expose-gc). What a shed lets go is mostly buffers outside
 * the JS heap, which V8 collects only after 64 MB more of them: without it, peak RSS on 3,000
 * connections with 128 KB behind a hole was 385 MB instead of 318 MB (192 MiB charged).
 */
const COLLECT_AFTER_SHED_SHARE = 1 / 8;

/**
 * Kinds whose bytes are mostly buffers outside the JS heap: only their sheds count toward a
 * collection. V8 schedules collections of its own heap well enough, and a full GC after
 * every eighth of evicted connections cost more than the eviction (1,000,000 SYNs).
 */
const BUFFER_KINDS: ReadonlySet<MemoryKind> = new Set<MemoryKind>(['tcp.reorder', 'ip.fragments', 'app.bodies', 'app.buffers', 'packets.held']);

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
  | 'app.buffers'
  /** The tapper's GET /packets: packets held until a call of their connection is reported. */
  | 'packets.held';

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
  'packets.held': 'oldest',
};

const KINDS = Object.keys(SHED_ORDER) as MemoryKind[];

/** Shedding frees down to this fraction of the limit, so sheds come in batches. */
const LOW_WATER = 15 / 16;

/** Asked to give back about `want` bytes; releases what it frees through its account. */
export type Shedder = (want: number) => void;

export class MemoryAccount implements ActivityNode<MemoryAccount> {
  /** Its neighbours in the list of its size class (see Holders). */
  prev: MemoryAccount | null = null;
  next: MemoryAccount | null = null;
  /** Bytes this account holds now. */
  bytes = 0;
  /** Where the budget lists it while it holds bytes: -1 unlisted, else its size class (or 0 for "oldest" kinds). */
  slot = -1;
  private closed = false;

  constructor(
    private readonly budget: MemoryBudget,
    readonly kind: MemoryKind,
    readonly shed: Shedder | null,
    /** @internal The budget's figures for this account's kind. */
    readonly tally: KindTally,
  ) {}

  /** Take `n` bytes; false (nothing taken) when the budget cannot make room for them. */
  charge(n: number): boolean {
    if (n <= 0) return true;
    if (this.closed) return false;
    if (!this.budget.reserve(this, n)) return false;
    this.bytes += n;
    this.budget.relist(this);
    return true;
  }

  /** Give back `n` bytes (at most what the account holds). */
  release(n: number): void {
    if (n <= 0) return;
    const freed = n < this.bytes ? n : this.bytes;
    this.bytes -= freed;
    this.budget.unreserve(this, freed);
    this.budget.relist(this);
  }

  /** Release everything and stop charging: the holder is gone. */
  close(): void {
    this.release(this.bytes);
    this.closed = true;
  }
}

/**
 * The accounts of one kind that hold bytes. "oldest" kinds: one list in the order accounts
 * started holding. "largest" kinds: one list per power-of-two size class, so the largest
 * class is found in constant time however many accounts there are (a scan for the exact
 * largest was quadratic when thousands of equal buffers had to be shed); "largest" thus
 * means "in the largest size class", within a factor of two of the largest. Lists through
 * the accounts, not Sets: an account changes class as its bytes come and go, on every charge
 * of a growing buffer, and a move is then a few pointer writes instead of two hash updates.
 * Together with KindTally: HTTP/1.1 bench capture CPU 0.92 (6.61 -> 6.01 s, 10 pairs).
 */
class Holders {
  readonly lists: ActivityList<MemoryAccount>[];

  constructor(readonly order: ShedOrder) {
    this.lists = Array.from({ length: order === 'oldest' ? 1 : 33 }, () => new ActivityList<MemoryAccount>());
  }

  slotFor(bytes: number): number {
    if (bytes === 0) return -1;
    if (this.order === 'oldest') return 0;
    return bytes >= 2 ** 32 ? 32 : 31 - Math.clz32(bytes);
  }

  /**
   * The first account to shed that is not in `tried`, or undefined. Accounts that were tried
   * and gave nothing are moved to the end of their list (see `passOver`), so meeting one
   * means the rest of that list was tried too: one pick never walks the whole list twice.
   */
  pick(tried: Set<MemoryAccount>): MemoryAccount | undefined {
    for (let i = this.lists.length - 1; i >= 0; i--) {
      const first = this.lists[i]!.head;
      if (first !== null && !tried.has(first)) return first;
    }
    return undefined;
  }

  /** `account` was asked and kept its bytes: behind every account not asked yet. */
  passOver(account: MemoryAccount): void {
    this.lists[account.slot]?.touch(account);
  }
}

/**
 * The budget's figures for one kind, which each account of the kind points to: charging and
 * releasing (many times a packet) then look nothing up by kind.
 */
class KindTally {
  /** Bytes charged to accounts of the kind now. */
  used = 0;
  constructor(readonly holders: Holders) {}
}

export class MemoryBudget {
  /** Bytes charged now, across all kinds. */
  used = 0;
  /** Highest `used` seen. */
  peak = 0;
  private readonly kinds = new Map<MemoryKind, KindTally>(KINDS.map((k) => [k, new KindTally(new Holders(SHED_ORDER[k]))]));
  private shedding = false;
  private shedSinceCollect = 0;

  constructor(
    readonly limit: number,
    private readonly stats: Stats,
  ) {}

  /** A holder of `kind`; `shed` lets the budget take bytes back from it (null: it cannot shed). */
  account(kind: MemoryKind, shed: Shedder | null = null): MemoryAccount {
    return new MemoryAccount(this, kind, shed, this.kinds.get(kind)!);
  }

  usedBy(kind: MemoryKind): number {
    return this.kinds.get(kind)?.used ?? 0;
  }

  /** Would `n` more bytes fit without shedding anything? */
  fits(n: number): boolean {
    return this.used + n <= this.limit;
  }

  /** @internal MemoryAccount.charge: make room for `n` bytes and count them, or refuse. */
  reserve(account: MemoryAccount, n: number): boolean {
    if (this.used + n > this.limit && !this.makeRoom(account, n)) {
      this.stats.add(`memory.overBudget.${account.kind}`);
      return false;
    }
    this.used += n;
    account.tally.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** @internal */
  unreserve(account: MemoryAccount, n: number): void {
    this.used -= n;
    account.tally.used -= n;
  }

  /**
   * @internal MemoryAccount: its bytes changed; keep it listed where the shed order finds it.
   * An account that cannot shed is counted but never listed: it can never be a victim.
   */
  relist(account: MemoryAccount): void {
    if (account.shed === null) return;
    const holders = account.tally.holders;
    const slot = holders.slotFor(account.bytes);
    if (slot === account.slot) return;
    if (account.slot >= 0) holders.lists[account.slot]!.remove(account);
    if (slot >= 0) holders.lists[slot]!.append(account);
    account.slot = slot;
  }

  /** Figures for the end-of-run summary and /stats (bytes). */
  snapshot(): { limit: number; used: number; peak: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    for (const [kind, { used }] of this.kinds) if (used > 0) byKind[kind] = used;
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
          if (BUFFER_KINDS.has(victim.kind)) this.shedSinceCollect += freed;
          this.stats.add(`memory.sheds.${victim.kind}`);
          this.stats.add(`memory.shedBytes.${victim.kind}`, freed);
          if (victim.bytes > 0) tried.delete(victim); // it may give more on the next round
        } else {
          victim.tally.holders.passOver(victim);
        }
      }
    } finally {
      this.shedding = false;
    }
    this.collectShed();
    return this.used + n <= this.limit;
  }

  /** Ask for a full GC once enough was shed since the last one (see COLLECT_AFTER_SHED_SHARE). */
  private collectShed(): void {
    if (this.shedSinceCollect < this.limit * COLLECT_AFTER_SHED_SHARE) return;
    this.shedSinceCollect = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc !== undefined) {
      gc();
      this.stats.add('memory.collections');
    }
  }

  /** The account to shed next: in the kind holding the most, by that kind's order. */
  private pickVictim(tried: Set<MemoryAccount>): MemoryAccount | undefined {
    const used = (k: MemoryKind) => this.kinds.get(k)!.used;
    const kinds = KINDS.filter((k) => used(k) > 0).sort((a, b) => used(b) - used(a));
    for (const kind of kinds) {
      const best = this.kinds.get(kind)!.holders.pick(tried);
      if (best !== undefined) return best;
    }
    return undefined;
  }
}
