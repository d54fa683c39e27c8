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

  constructor(
    private readonly stats: Stats,
    limits: Partial<DedupLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DEDUP_LIMITS, ...limits };
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
    // Re-inserting moves the key to the end, so the map stays in capture-time order.
    if (previous !== undefined) this.seen.delete(key);
    this.seen.set(key, ts);
    this.forgetOlderThan(ts - this.limits.windowMicros);
    return true;
  }

  get remembered(): number {
    return this.seen.size;
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [key, ts] of this.seen) {
      if (ts >= cutoff && this.seen.size <= this.limits.maxRemembered) break;
      if (ts >= cutoff) this.stats.add('node.dedupForgottenEarly');
      this.seen.delete(key);
    }
  }
}

/** FNV-1a over the payload (at most its first 1500 bytes: a datagram copy is byte-identical). */
function payloadHash(payload: Buffer): number {
  let h = 0x811c9dc5;
  const n = Math.min(payload.length, 1500);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return h >>> 0;
}
