// Turns two real byte streams into the packets a capture of their TCP connection could
// hold: handshake, data segments with real-looking sequence numbers (random ISNs, some near
// 2^32 so the numbers wrap mid-stream), reordering, duplicates, overlapping partial
// retransmissions and capture drops, all driven by a seeded PRNG; then FINs.
import type { Packet } from '../../src/decode/packet.js';
import type { Dir } from '../../src/protocols/types.js';
import { F, PacketFactory, cut, type Endpoints } from './harness.js';

export interface Perturbation {
  reorderWindow: number;
  duplicateRate: number;
  overlapRate: number;
  dropRate: number;
  /** Data packets carry the real receiver's cumulative ack (else a stale ack). */
  realAcks: boolean;
  maxSegment: number;
}

interface Sent {
  dir: Dir;
  offset: number;
  length: number;
  dropped: boolean;
}

export interface Simulated {
  packets: Packet[];
  /** Per direction: 1 where some captured (not dropped) segment holds the byte. */
  captured: [Uint8Array, Uint8Array];
  /** Per direction: 1 where some dropped segment holds the byte. */
  dropped: [Uint8Array, Uint8Array];
  isn: [number, number];
}

function randomIsn(random: () => number): number {
  // A third near the top of the sequence space: the stream then wraps through zero.
  if (random() < 0.34) return (0x1_0000_0000 - 1 - Math.floor(random() * 40_000)) >>> 0;
  return Math.floor(random() * 0x1_0000_0000) >>> 0;
}

export function simulate(streams: [Buffer, Buffer], random: () => number, how: Perturbation, ep?: Endpoints): Simulated {
  const factory = new PacketFactory(ep);
  const isn: [number, number] = [randomIsn(random), randomIsn(random)];
  const base = (dir: Dir) => (isn[dir] + 1) >>> 0;

  // Both directions' segments, interleaved at random but each in its own order.
  const perDir = ([0, 1] as const).map((d) => cut(streams[d], random, how.maxSegment).map((s) => ({ dir: d as Dir, offset: s.offset, length: s.bytes.length })));
  const order: Sent[] = [];
  const cursors = [0, 0];
  while (cursors[0]! < perDir[0]!.length || cursors[1]! < perDir[1]!.length) {
    const d: Dir = cursors[0]! >= perDir[0]!.length ? 1 : cursors[1]! >= perDir[1]!.length ? 0 : random() < 0.5 ? 0 : 1;
    const s = perDir[d]![cursors[d]!++]!;
    order.push({ ...s, dropped: false });
    const total = streams[d].length;
    if (random() < how.duplicateRate) {
      order.splice(Math.min(order.length, order.length - Math.floor(random() * 3)), 0, { ...s, dropped: false });
    }
    if (random() < how.overlapRate) {
      // A retransmission that starts inside an earlier segment and runs past this one.
      const start = Math.max(0, s.offset - Math.floor(random() * 2000));
      const end = Math.min(total, s.offset + s.length + Math.floor(random() * 2000));
      if (end > start) order.push({ dir: d, offset: start, length: end - start, dropped: false });
    }
  }
  for (let i = 0; i < order.length; i++) {
    const j = Math.min(order.length - 1, i + Math.floor(random() * (how.reorderWindow + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const s of order) s.dropped = random() < how.dropRate;

  const captured: [Uint8Array, Uint8Array] = [new Uint8Array(streams[0].length), new Uint8Array(streams[1].length)];
  const dropped: [Uint8Array, Uint8Array] = [new Uint8Array(streams[0].length), new Uint8Array(streams[1].length)];
  // What the real receivers got (every segment, dropped or not), for their acks.
  const received = [new Uint8Array(streams[0].length), new Uint8Array(streams[1].length)];
  const receivedPrefix = [0, 0];

  const packets: Packet[] = [];
  packets.push(factory.packet(0, isn[0], F.SYN));
  packets.push(factory.packet(1, isn[1], F.SYN | F.ACK, undefined, base(0)));
  packets.push(factory.packet(0, base(0), F.ACK, undefined, base(1)));
  for (const s of order) {
    const other: Dir = s.dir === 0 ? 1 : 0;
    const ack = how.realAcks ? base(other) + receivedPrefix[other]! : base(other);
    (s.dropped ? dropped : captured)[s.dir].fill(1, s.offset, s.offset + s.length);
    received[s.dir]!.fill(1, s.offset, s.offset + s.length);
    while (receivedPrefix[s.dir]! < streams[s.dir].length && received[s.dir]![receivedPrefix[s.dir]!] === 1) receivedPrefix[s.dir]!++;
    if (s.dropped) continue;
    const payload = streams[s.dir].subarray(s.offset, s.offset + s.length);
    packets.push(factory.packet(s.dir, base(s.dir) + s.offset, F.ACK | F.PSH, payload, ack));
  }
  const end = (d: Dir) => base(d) + streams[d].length;
  packets.push(factory.packet(0, end(0), F.FIN | F.ACK, undefined, how.realAcks ? end(1) : base(1)));
  packets.push(factory.packet(1, end(1), F.FIN | F.ACK, undefined, end(0) + 1));
  packets.push(factory.packet(0, end(0) + 1, F.ACK, undefined, end(1) + 1));
  return { packets, captured, dropped, isn };
}

/** Byte ranges [start, end) where `mask` is 0. */
export function holes(mask: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < mask.length; ) {
    if (mask[i] === 1) {
      i++;
      continue;
    }
    const start = i;
    while (i < mask.length && mask[i] === 0) i++;
    out.push([start, i]);
  }
  return out;
}
