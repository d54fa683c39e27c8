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
 * 65,536 packets (about 2 MB: a Map entry and a ring slot each) are the window at 65,000
 * packets/s; beyond that the oldest are forgotten early (counted as node.dedupForgottenEarly):
 * TCP copies are then trimmed by reassembly (tcp.retransmittedBytes), UDP copies of a handle
 * change may pass.
 */
export const DEFAULT_DEDUP_LIMITS: DedupLimits = { windowMicros: 1_000_000, maxRemembered: 65_536 };

/** 2^21: the second hash's 21 bits go under the first's 32 in a 53-bit key (a safe integer). */
const LOW_BITS = 2_097_152;

export class PacketDedup {
  /**
   * A packet's key (53 bits of two hashes of its fields) to the ring slot that remembers it.
   * A number, not a string: a key string built per packet (10 fields, 20 cons strings) was
   * 7 MB of old space at 2,500 calls/s, the tapper's largest heap item (bench/live.ts).
   */
  private readonly seen = new Map<number, number>();
  private readonly limits: DedupLimits;
  /**
   * The keys in the order they were remembered, a ring of maxRemembered slots, with the
   * fields a copy must repeat (so two packets whose hashes collide are still two packets; the
   * addresses are only in the hashes). Forgetting walks this instead of the Map: a Map deleted
   * from its front keeps holes that every new walk from the front steps over until V8
   * compacts it, which made this stage 47% of the tapper's CPU on a 200k-packet capture.
   */
  private readonly ringKeys: Float64Array;
  private readonly ringTimes: Float64Array;
  /** TCP: sequence and acknowledgement numbers; UDP: the payload's hash and 0. */
  private readonly ringA: Uint32Array;
  private readonly ringB: Uint32Array;
  /** Source port << 16 | destination port. */
  private readonly ringPorts: Uint32Array;
  /** Payload length * 512 + TCP flags (9 bits) * 2 + 1 for TCP (a snapshot length's payload fits 32 bits). */
  private readonly ringShape: Uint32Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly stats: Stats,
    limits: Partial<DedupLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DEDUP_LIMITS, ...limits };
    const n = this.limits.maxRemembered;
    this.ringKeys = new Float64Array(n);
    this.ringTimes = new Float64Array(n);
    this.ringA = new Uint32Array(n);
    this.ringB = new Uint32Array(n);
    this.ringPorts = new Uint32Array(n);
    this.ringShape = new Uint32Array(n);
  }

  /** True for the first copy of a packet, false for the others. */
  firstCopy(p: Packet): boolean {
    const tcp = p.transport === 'tcp';
    const a = tcp ? p.seq >>> 0 : payloadHash(p.payload);
    const b = tcp ? p.ack >>> 0 : 0;
    const ports = ((p.srcPort << 16) | p.dstPort) >>> 0;
    const shape = p.payload.length * 512 + (tcp ? (p.flags & 0x1ff) * 2 + 1 : 0);
    const key = packetKey(p.srcIp, p.dstIp, a, b, ports, shape);
    const ts = p.tsMicros;
    const slot = this.seen.get(key);
    if (
      slot !== undefined && Math.abs(ts - this.ringTimes[slot]!) <= this.limits.windowMicros &&
      this.ringA[slot] === a && this.ringB[slot] === b && this.ringPorts[slot] === ports && this.ringShape[slot] === shape
    ) {
      this.stats.add('node.duplicatePackets');
      return false;
    }
    this.forgetOlderThan(ts - this.limits.windowMicros);
    this.remember(key, ts, a, b, ports, shape);
    return true;
  }

  get remembered(): number {
    return this.seen.size;
  }

  private remember(key: number, ts: number, a: number, b: number, ports: number, shape: number): void {
    const capacity = this.ringKeys.length;
    if (this.count === capacity) {
      this.forgetHead();
      this.stats.add('node.dedupForgottenEarly');
    }
    const slot = (this.head + this.count) % capacity;
    this.ringKeys[slot] = key;
    this.ringTimes[slot] = ts;
    this.ringA[slot] = a;
    this.ringB[slot] = b;
    this.ringPorts[slot] = ports;
    this.ringShape[slot] = shape;
    this.seen.set(key, slot);
    this.count += 1;
  }

  private forgetOlderThan(cutoff: number): void {
    while (this.count > 0 && this.ringTimes[this.head]! < cutoff) this.forgetHead();
  }

  private forgetHead(): void {
    const key = this.ringKeys[this.head]!;
    // The key may have been remembered again since (a later copy outside the window).
    if (this.seen.get(key) === this.head) this.seen.delete(key);
    this.head = (this.head + 1) % this.ringKeys.length;
    this.count -= 1;
  }
}

/** Two 32-bit FNV-1a style hashes of the fields, as one 53-bit integer. */
function packetKey(srcIp: string, dstIp: string, a: number, b: number, ports: number, shape: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01234567;
  for (let i = 0; i < srcIp.length; i++) {
    const c = srcIp.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ 0x7c, 0x01000193); // a separator: "1.2.3.4" + "5..." is not "1.2.3.45" + "..."
  h2 = Math.imul(h2 ^ 0x7c, 0x5bd1e995);
  for (let i = 0; i < dstIp.length; i++) {
    const c = dstIp.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = mix1(mix1(mix1(mix1(h1, a), b), ports), shape);
  h2 = mix2(mix2(mix2(mix2(h2, a), b), ports), shape);
  return (h1 >>> 0) * LOW_BITS + ((h2 >>> 0) % LOW_BITS);
}

function mix1(h: number, v: number): number {
  const m = Math.imul(h ^ v, 0x01000193);
  return m ^ (m >>> 15);
}

function mix2(h: number, v: number): number {
  const m = Math.imul(h ^ v, 0x5bd1e995);
  return m ^ (m >>> 13);
}

/** FNV-1a over the payload (at most its first 1500 bytes: a datagram copy is byte-identical). */
function payloadHash(payload: Buffer): number {
  let h = 0x811c9dc5;
  const n = Math.min(payload.length, 1500);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return h >>> 0;
}
