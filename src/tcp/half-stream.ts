// One direction of a connection: turns segments (in any order, duplicated, overlapping) into
// the ordered byte stream the dissector sees, plus gap notices for bytes the capture lost.
// In-order bytes are handed on at once as views on the packet (no copy); only segments that
// arrive ahead of a hole are copied into the SegmentBuffer until the hole fills or is given up.
// What is buffered is charged to the engine's memory budget ('tcp.reorder'); when the budget
// needs it back, the direction stops waiting for its holes (gaps) and delivers what it holds.

import type { Dir } from '../protocols/types.js';
import { TcpFlag } from '../decode/packet.js';
import type { MemoryAccount, MemoryBudget } from '../memory/budget.js';
import type { Stats } from '../stats.js';
import type { TcpLimits } from './limits.js';
import { SEGMENT_OVERHEAD, SegmentBuffer } from './segment-buffer.js';
import { seqAdd, seqDiff } from './seq.js';

/** Where a direction's ordered bytes and gap notices go (the connection, which guards the parser). */
export interface StreamSink {
  /** True while the parser is running: shedding must not re-enter it then. */
  readonly busy: boolean;
  deliver(dir: Dir, data: Buffer, tsMicros: number): void;
  gap(dir: Dir, missing: number, tsMicros: number): void;
}

/** What every direction of every connection shares: the limits, the counters and the budget. */
export interface ReassemblyShared {
  readonly limits: TcpLimits;
  readonly stats: Stats;
  readonly memory: MemoryBudget;
}

export class HalfStream {
  /** nextSeq is known (from a SYN, a SYN-ACK's ack, or the first segment seen midstream). */
  started = false;
  /** Sequence number of the next byte to deliver. */
  nextSeq = 0;
  synSeen = false;
  isn = 0;
  finSeen = false;
  /** Sequence number just past the last data byte (the FIN's own number). */
  finSeq = 0;
  /** Highest ack the other side sent for this direction: the peer received everything below it. */
  hasPeerAck = false;
  peerAck = 0;
  /** Sequence number just past the furthest byte seen (delivered or buffered). */
  private furthest = 0;
  private readonly pending = new SegmentBuffer();
  private readonly account: MemoryAccount;
  /** Capture time of the last segment, for gaps forced by the budget between packets. */
  private lastTsMicros = 0;

  constructor(
    private readonly sink: StreamSink,
    private readonly dir: Dir,
    private readonly budget: ReassemblyShared,
  ) {
    this.account = budget.memory.account('tcp.reorder', () => {
      if (sink.busy) return; // its parser is running further up the stack: ask another
      budget.stats.add('tcp.bufferCapHits.memory');
      this.flushBuffered(this.lastTsMicros);
    });
  }

  get bufferedBytes(): number {
    return this.pending.bytes;
  }

  /** Every byte before the FIN has been delivered. */
  get done(): boolean {
    return this.finSeen && this.nextSeq === this.finSeq;
  }

  startAt(seq: number): void {
    this.started = true;
    this.nextSeq = seq >>> 0;
    this.furthest = this.nextSeq;
  }

  /**
   * Would the receiver of this direction accept a RST with sequence number `seq`? Endpoints
   * reset only on an exact match with the next byte they expect (RCV.NXT, RFC 5961 §3.2);
   * anything else is dropped (or answered with a challenge ACK) and the connection goes on.
   * The receiver's RCV.NXT is, as far as the capture shows it: the next byte to deliver, the
   * end of the furthest byte seen (when the capture lost some before it), what the receiver
   * acknowledged, or the byte after the FIN. Nothing known about this direction yet (a
   * refused SYN's RST/ACK, or no packet of it captured): accepted.
   */
  acceptsReset(seq: number): boolean {
    if (!this.started) return true;
    const s = seq >>> 0;
    if (s === this.nextSeq || s === this.furthest) return true;
    if (this.hasPeerAck && s === this.peerAck >>> 0) return true;
    return this.finSeen && s === seqAdd(this.finSeq, 1);
  }

  receive(seq: number, payload: Buffer, flags: number, tsMicros: number): void {
    this.lastTsMicros = tsMicros;
    let dataSeq = seq;
    if ((flags & TcpFlag.SYN) !== 0) {
      if (!this.synSeen) {
        this.synSeen = true;
        this.isn = seq;
        if (!this.started) this.startAt(seqAdd(seq, 1));
      }
      dataSeq = seqAdd(seq, 1);
    }
    if (!this.started) this.startAt(dataSeq);
    if ((flags & TcpFlag.FIN) !== 0 && !this.finSeen) {
      this.finSeen = true;
      this.finSeq = seqAdd(dataSeq, payload.length);
    }
    if (payload.length > 0) {
      const end = seqAdd(dataSeq, payload.length);
      if (seqDiff(end, this.furthest) > 0) this.furthest = end;
      this.data(dataSeq, payload, tsMicros);
    } else if (this.finSeen && this.hasPeerAck) this.skipAckedHoles(tsMicros);
  }

  /** The other side acknowledged everything before `ack` in this direction. */
  onPeerAck(ack: number, tsMicros: number): void {
    if (!this.started) return;
    if (!this.hasPeerAck || seqDiff(ack, this.peerAck) > 0) {
      this.hasPeerAck = true;
      this.peerAck = ack;
    }
    if (!this.pending.isEmpty || this.finSeen) this.skipAckedHoles(tsMicros);
  }

  flushBuffered(tsMicros: number): void {
    for (let first = this.pending.first(); first !== undefined; first = this.pending.first()) {
      if (this.finSeen && seqDiff(first.seq, this.finSeq) >= 0) {
        this.discardBuffered();
        break;
      }
      this.gapTo(first.seq, tsMicros);
      this.drain(tsMicros);
    }
  }

  /**
   * The connection ends: deliver what is buffered, then report as a gap the bytes known to
   * exist but never captured (up to the FIN, or up to what the peer acknowledged).
   */
  flushForClose(tsMicros: number): void {
    this.flushBuffered(tsMicros);
    this.account.close();
    if (!this.started) return;
    if (this.finSeen) {
      this.gapTo(this.finSeq, tsMicros);
    } else if (this.hasPeerAck) {
      this.gapTo(this.peerAck, tsMicros);
    }
  }

  private data(seq: number, payload: Buffer, tsMicros: number): void {
    let bytes = payload;
    if (this.finSeen) {
      const room = seqDiff(this.finSeq, seq);
      if (room < bytes.length) {
        this.budget.stats.add('tcp.bytesAfterFin', bytes.length - Math.max(room, 0));
        if (room <= 0) return;
        bytes = bytes.subarray(0, room);
      }
    }
    const offset = seqDiff(seq, this.nextSeq);
    if (offset <= 0) {
      this.deliverFrom(offset, bytes, tsMicros);
      if (!this.pending.isEmpty) this.drain(tsMicros);
    } else {
      this.buffer(seq, bytes, tsMicros);
    }
  }

  /** Deliver `bytes`, which start `offset` (<= 0) bytes relative to nextSeq, minus what was already delivered. */
  private deliverFrom(offset: number, bytes: Buffer, tsMicros: number): void {
    if (-offset >= bytes.length) {
      this.budget.stats.add('tcp.retransmittedBytes', bytes.length);
      return;
    }
    let fresh = bytes;
    if (offset < 0) {
      this.budget.stats.add('tcp.retransmittedBytes', -offset);
      fresh = bytes.subarray(-offset);
    }
    this.nextSeq = seqAdd(this.nextSeq, fresh.length);
    this.sink.deliver(this.dir, fresh, tsMicros);
  }

  /** Deliver every buffered segment that the stream has reached. */
  private drain(tsMicros: number): void {
    for (let first = this.pending.first(); first !== undefined; first = this.pending.first()) {
      const offset = seqDiff(first.seq, this.nextSeq);
      if (offset > 0) return;
      this.pending.shift();
      this.releaseFreed();
      this.deliverFrom(offset, first.data, tsMicros);
    }
  }

  private buffer(seq: number, bytes: Buffer, tsMicros: number): void {
    const { limits, stats } = this.budget;
    this.budget.stats.add('tcp.outOfOrderSegments');
    const length = bytes.length;
    // The most the insert can add: the bytes and one more segment (released after if less).
    const charge = length + SEGMENT_OVERHEAD;
    for (;;) {
      if (this.pending.cost + charge > limits.maxBufferedPerDirection) {
        stats.add('tcp.bufferCapHits.perDirection');
      } else if (this.account.charge(charge)) {
        break;
      } else {
        // The budget sheds larger buffers elsewhere first; refused, this one is the largest.
        stats.add('tcp.bufferCapHits.memory');
      }
      // Over a cap: stop waiting for the oldest hole of this direction.
      const first = this.pending.first();
      const target = first !== undefined && seqDiff(first.seq, seq) < 0 ? first.seq : seq;
      this.gapTo(target, tsMicros);
      this.drain(tsMicros);
      const offset = seqDiff(seq, this.nextSeq);
      if (offset <= 0) {
        this.deliverFrom(offset, bytes, tsMicros);
        if (!this.pending.isEmpty) this.drain(tsMicros);
        return;
      }
    }
    const delta = this.pending.insert(seq, bytes);
    if (delta !== length) stats.add('tcp.retransmittedBytes', length - delta);
    this.releaseFreed();
    if (this.hasPeerAck) this.skipAckedHoles(tsMicros);
  }

  /**
   * The peer acknowledged bytes we never saw, and we already hold something beyond them (a
   * buffered segment, or the FIN): the capture lost them, they will not come again. Only with
   * something beyond the hole in hand, so an ACK captured just before the data it
   * acknowledges does not cause a false gap.
   */
  private skipAckedHoles(tsMicros: number): void {
    for (;;) {
      if (seqDiff(this.peerAck, this.nextSeq) <= 0) return;
      const first = this.pending.first();
      const beyond = first !== undefined ? first.seq : this.finSeen ? this.finSeq : this.nextSeq;
      if (seqDiff(beyond, this.nextSeq) <= 0) return;
      const target = seqDiff(beyond, this.peerAck) <= 0 ? beyond : this.peerAck;
      this.budget.stats.add('tcp.gapsAcked');
      this.gapTo(target, tsMicros);
      this.drain(tsMicros);
    }
  }

  private gapTo(target: number, tsMicros: number): void {
    const missing = seqDiff(target, this.nextSeq);
    if (missing <= 0) return;
    this.budget.stats.add('tcp.gaps');
    this.budget.stats.add('tcp.gapBytes', missing);
    this.nextSeq = target >>> 0;
    this.sink.gap(this.dir, missing, tsMicros);
  }

  private discardBuffered(): void {
    const bytes = this.pending.bytes;
    this.budget.stats.add('tcp.bytesAfterFin', bytes);
    this.pending.clear();
    this.releaseFreed();
  }

  /** Give the budget back what the buffer no longer holds (the account tracks its cost). */
  private releaseFreed(): void {
    const excess = this.account.bytes - this.pending.cost;
    if (excess > 0) this.account.release(excess);
  }
}
