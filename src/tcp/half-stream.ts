// One direction of a connection: turns segments (in any order, duplicated, overlapping) into
// the ordered byte stream the dissector sees, plus gap notices for bytes the capture lost.
// In-order bytes are handed on at once as views on the packet (no copy); only segments that
// arrive ahead of a hole are copied into the SegmentBuffer until the hole fills or is given up.

import type { Dir } from '../protocols/types.js';
import { TcpFlag } from '../decode/packet.js';
import type { BufferBudget, BufferHolder } from './buffer-budget.js';
import { SegmentBuffer } from './segment-buffer.js';
import { seqAdd, seqDiff } from './seq.js';

/** Where a direction's ordered bytes and gap notices go (the connection, which guards the parser). */
export interface StreamSink {
  deliver(dir: Dir, data: Buffer, tsMicros: number): void;
  gap(dir: Dir, missing: number, tsMicros: number): void;
}

export class HalfStream implements BufferHolder {
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
  private readonly pending = new SegmentBuffer();

  constructor(
    private readonly sink: StreamSink,
    private readonly dir: Dir,
    private readonly budget: BufferBudget,
  ) {}

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
  }

  receive(seq: number, payload: Buffer, flags: number, tsMicros: number): void {
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
    if (payload.length > 0) this.data(dataSeq, payload, tsMicros);
    else if (this.finSeen && this.hasPeerAck) this.skipAckedHoles(tsMicros);
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
      this.budget.update(this, -first.data.length);
      this.deliverFrom(offset, first.data, tsMicros);
    }
  }

  private buffer(seq: number, bytes: Buffer, tsMicros: number): void {
    const { limits, stats } = this.budget;
    this.budget.stats.add('tcp.outOfOrderSegments');
    const length = bytes.length;
    for (;;) {
      if (this.pending.bytes + length > limits.maxBufferedPerDirection) {
        stats.add('tcp.bufferCapHits.perDirection');
      } else if (this.budget.total + length > limits.maxBufferedTotal) {
        stats.add('tcp.bufferCapHits.total');
        const victim = this.budget.largest();
        if (victim !== undefined && victim !== this && victim.bufferedBytes > this.pending.bytes) {
          victim.flushBuffered(tsMicros);
          continue;
        }
      } else {
        break;
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
    this.budget.update(this, delta);
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
    this.budget.update(this, -bytes);
  }
}
