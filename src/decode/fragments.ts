// IPv4 and IPv6 fragment reassembly, bounded: at most `maxDatagrams` datagrams and
// `maxBytes` fragment bytes pending (the oldest datagram is dropped to make room), and a
// datagram not completed within `timeoutMicros` of capture time is dropped. Overlapping
// fragments drop their datagram (RFC 5722; also the classic evasion trick). Every drop is
// counted under decode.fragments.*. What is pending is also charged to the engine's memory
// budget ('ip.fragments'); when the budget wants room the oldest datagrams are dropped first
// (as the reassembly timeout would: the one waiting longest is the least likely to complete).

import { DEFAULT_MEMORY_BUDGET, MemoryBudget, type MemoryAccount } from '../memory/budget.js';
import type { Stats } from '../stats.js';

export interface FragmentLimits {
  maxDatagrams: number;
  maxBytes: number;
  timeoutMicros: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxDatagrams: 1024,
  maxBytes: 8 * 1024 * 1024,
  timeoutMicros: 30_000_000,
};

/** Largest reassembled payload: the 16-bit IP length field bounds any datagram. */
const MAX_DATAGRAM = 65535;

/** Memory a held fragment costs beyond its bytes (Part, Buffer, its own ArrayBuffer, array slot). */
export const FRAGMENT_OVERHEAD = 260;
/** Memory a pending datagram costs beyond its fragments (Pending, parts array, key, Map entry). */
export const DATAGRAM_OVERHEAD = 300;

interface Part {
  offset: number;
  data: Buffer;
}

interface Pending {
  firstSeen: number;
  /** Length of the whole payload, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  received: number;
  /** Upper-layer protocol, taken from the fragment at offset 0 (IPv6 names it per fragment header). */
  protocol: number;
  parts: Part[];
}

export class FragmentReassembler {
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  private readonly account: MemoryAccount;

  constructor(
    private readonly stats: Stats,
    private readonly limits: FragmentLimits = DEFAULT_FRAGMENT_LIMITS,
    memory: MemoryBudget = new MemoryBudget(DEFAULT_MEMORY_BUDGET, stats),
  ) {
    this.account = memory.account('ip.fragments', (want) => this.shed(want));
  }

  /**
   * Adds one fragment (`data` is copied). Returns the reassembled payload when this
   * fragment completes its datagram, with `protocol` set on `out`; null otherwise.
   */
  add(key: string, tsMicros: number, offset: number, data: Buffer, more: boolean, protocol: number, out: { protocol: number }): Buffer | null {
    this.expire(tsMicros);
    const end = offset + data.length;
    if (end > MAX_DATAGRAM || (more && (data.length & 7) !== 0) || (more && data.length === 0)) {
      this.stats.add('decode.malformed.fragment');
      return null;
    }
    if (data.length > this.limits.maxBytes) {
      this.stats.add('decode.fragments.evicted');
      return null;
    }
    let datagram = this.pending.get(key);
    if (datagram === undefined) {
      this.makeRoom(data.length);
      if (!this.charge(DATAGRAM_OVERHEAD, null)) return null;
      datagram = { firstSeen: tsMicros, total: -1, received: 0, protocol: -1, parts: [] };
      this.pending.set(key, datagram);
    } else if (this.pendingBytes + data.length > this.limits.maxBytes) {
      this.makeRoom(data.length);
      if (!this.pending.has(key)) return null; // its own datagram was the oldest and went
    }
    if (!more) {
      if (datagram.total >= 0 && datagram.total !== end) return this.drop(key, datagram, 'decode.fragments.inconsistent');
      datagram.total = end;
    }
    if (datagram.total >= 0 && end > datagram.total) return this.drop(key, datagram, 'decode.fragments.inconsistent');
    // Keep parts sorted by offset; an exact duplicate (retransmission) is ignored.
    const parts = datagram.parts;
    let i = parts.length;
    while (i > 0 && parts[i - 1]!.offset > offset) i--;
    const before = parts[i - 1];
    if (before !== undefined && before.offset === offset && before.data.length === data.length) {
      this.stats.add('decode.fragments.duplicate');
      return null;
    }
    const after = parts[i];
    if ((before !== undefined && before.offset + before.data.length > offset) || (after !== undefined && end > after.offset)) {
      return this.drop(key, datagram, 'decode.fragments.overlap');
    }
    if (!this.charge(data.length + FRAGMENT_OVERHEAD, key)) return null;
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    parts.splice(i, 0, { offset, data: copy });
    datagram.received += data.length;
    this.pendingBytes += data.length;
    if (offset === 0) datagram.protocol = protocol;
    if (datagram.total < 0 || datagram.received !== datagram.total) return null;
    // No overlaps and as many bytes as the total: the parts tile the datagram exactly.
    this.pending.delete(key);
    this.pendingBytes -= datagram.received;
    this.account.release(cost(datagram));
    this.stats.add('decode.fragments.reassembled');
    out.protocol = datagram.protocol;
    return parts.length === 1 ? parts[0]!.data : Buffer.concat(parts.map((p) => p.data), datagram.total);
  }

  get pendingDatagrams(): number {
    return this.pending.size;
  }

  /** Drops datagrams older than the timeout; insertion order is first-seen order. */
  private expire(now: number): void {
    for (const [key, datagram] of this.pending) {
      if (now - datagram.firstSeen <= this.limits.timeoutMicros) break;
      this.drop(key, datagram, 'decode.fragments.timedOut');
    }
  }

  private makeRoom(bytes: number): void {
    for (const [key, datagram] of this.pending) {
      if (this.pending.size < this.limits.maxDatagrams && this.pendingBytes + bytes <= this.limits.maxBytes) break;
      this.drop(key, datagram, 'decode.fragments.evicted');
    }
  }

  private drop(key: string, datagram: Pending, reason: string): null {
    this.pending.delete(key);
    this.pendingBytes -= datagram.received;
    this.account.release(cost(datagram));
    this.stats.add(reason);
    return null;
  }

  /**
   * Charge `n` bytes, dropping this reassembler's oldest datagrams while the budget refuses
   * (never `keep`'s own). False when nothing is left to drop: the fragment is dropped.
   */
  private charge(n: number, keep: string | null): boolean {
    while (!this.account.charge(n)) {
      const oldest = this.pending.entries().next();
      if (oldest.done === true || oldest.value[0] === keep) {
        this.stats.add('decode.fragments.overBudget');
        if (keep !== null) this.drop(keep, this.pending.get(keep)!, 'decode.fragments.evicted');
        return false;
      }
      this.drop(oldest.value[0], oldest.value[1], 'decode.fragments.evicted');
    }
    return true;
  }

  /** The budget wants about `want` bytes back: the oldest datagrams go. */
  private shed(want: number): void {
    const target = this.account.bytes - want;
    for (const [key, datagram] of this.pending) {
      if (this.account.bytes <= target) break;
      this.drop(key, datagram, 'decode.fragments.evicted');
    }
  }
}

/** What a pending datagram is charged: its bytes and fixed costs (see FRAGMENT_OVERHEAD). */
function cost(datagram: Pending): number {
  return DATAGRAM_OVERHEAD + datagram.received + datagram.parts.length * FRAGMENT_OVERHEAD;
}
