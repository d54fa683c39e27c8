// One copy of each packet on a node. Under `any` the same packet is captured on every
// interface it crosses (the client pod's veth, the server pod's veth, a bridge, the uplink),
// and while targets change two capture handles see the same packets. Reassembly would trim
// the TCP copies as retransmissions, but a UDP datagram (DNS) seen twice is two queries, and
// every copy costs a trip through reassembly; so copies are dropped here, before the engine.
//
// A copy is the same packet seen again within a window of capture time: same
// addresses, ports and length, plus for TCP the sequence and acknowledgement numbers and
// flags (the same segment carries the same bytes), for UDP a hash of the payload. Dropping a
// real TCP retransmission of a segment already seen loses nothing: its bytes went in with
// the first copy. The window (1 s) covers copies on several interfaces (microseconds apart)
// and a change of capture handles (the new handle's copies come after a 250 ms overlap,
// src/capture/capture-handles.ts). A UDP client repeating an identical datagram (same
// ports, same bytes) within it would be taken for a copy: DNS resolvers retry a query after
// their timeout, 5 s by default in glibc, musl, Go and c-ares.

import type { Packet } from '../decode/packet.js';
import type { Stats } from '../stats.js';

export interface DedupLimits {
  /** Copies of one packet arrive within this much capture time of each other. */
  windowMicros: number;
  /** Packets remembered at most; beyond it the oldest are forgotten (and counted). */
  maxRemembered: number;
}

/**
 * 65,536 packets (about 7 MB of keys) are the window at 65,000 packets/s; beyond that the
 * oldest are forgotten early (counted as node.dedupForgottenEarly): TCP copies are then
 * trimmed by reassembly (tcp.retransmittedBytes), UDP copies of a handle change may pass.
 */
export const DEFAULT_DEDUP_LIMITS: DedupLimits = { windowMicros: 1_000_000, maxRemembered: 65_536 };

export class PacketDedup {
  private readonly seen = new Map<string, number>();
  private readonly limits: DedupLimits;
  /**
   * The keys in the order they were remembered, a ring of maxRemembered slots. Forgetting
   * walks this instead of the Map: a Map deleted from its front keeps holes that every new
   * walk from the front steps over until V8 compacts it, which made this stage 47% of the
   * tapper's CPU on a 200k-packet capture.
   */
  private readonly ringKeys: string[];
  private readonly ringTimes: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly stats: Stats,
    limits: Partial<DedupLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DEDUP_LIMITS, ...limits };
    this.ringKeys = new Array<string>(this.limits.maxRemembered).fill('');
    this.ringTimes = new Float64Array(this.limits.maxRemembered);
  }

  /** True for the first copy of a packet, false for the others. */
  firstCopy(p: Packet): boolean {
    const key =
      p.transport === 'tcp'
        ? `t${p.srcIp}|${p.srcPort}|${p.dstIp}|${p.dstPort}|${p.seq}|${p.ack}|${p.flags}|${p.payload.length}`
        : `u${p.srcIp}|${p.srcPort}|${p.dstIp}|${p.dstPort}|${p.payload.length}|${payloadHash(p.payload)}`;
    const previous = this.seen.get(key);
    const ts = p.tsMicros;
    if (previous !== undefined && Math.abs(ts - previous) <= this.limits.windowMicros) {
      this.stats.add('node.duplicatePackets');
      return false;
    }
    this.forgetOlderThan(ts - this.limits.windowMicros);
    this.seen.set(key, ts);
    this.remember(key, ts);
    return true;
  }

  get remembered(): number {
    return this.seen.size;
  }

  private remember(key: string, ts: number): void {
    const capacity = this.ringKeys.length;
    if (this.count === capacity) {
      this.forgetHead();
      this.stats.add('node.dedupForgottenEarly');
    }
    const slot = (this.head + this.count) % capacity;
    this.ringKeys[slot] = key;
    this.ringTimes[slot] = ts;
    this.count += 1;
  }

  private forgetOlderThan(cutoff: number): void {
    while (this.count > 0 && this.ringTimes[this.head]! < cutoff) this.forgetHead();
  }

  private forgetHead(): void {
    const key = this.ringKeys[this.head]!;
    // The key may have been remembered again since (a later copy outside the window).
    if (this.seen.get(key) === this.ringTimes[this.head]) this.seen.delete(key);
    this.ringKeys[this.head] = '';
    this.head = (this.head + 1) % this.ringKeys.length;
    this.count -= 1;
  }
}

/** FNV-1a over the payload (at most its first 1500 bytes: a datagram copy is byte-identical). */
function payloadHash(payload: Buffer): number {
  let h = 0x811c9dc5;
  const n = Math.min(payload.length, 1500);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return h >>> 0;
}
