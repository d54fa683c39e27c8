// One tracked TCP connection: its two directions, its dissector, and the guard that keeps a
// throwing dissector from corrupting the assembler (the first exception is counted and the
// connection stops feeding that parser; reassembly bookkeeping carries on).

import type { Packet } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import type { Stats } from '../stats.js';
import type { Dir, StreamParser } from '../protocols/types.js';
import type { ActivityNode } from '../activity-list.js';
import type { TupleNode } from '../tuple-table.js';
import { HalfStream, type ReassemblyShared, type StreamSink } from './half-stream.js';
import { seqAdd } from './seq.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ConnectionInfo {
  client: Endpoint;
  server: Endpoint;
  midstream: boolean;
  tsMicros: number;
}

export class Connection implements StreamSink, ActivityNode<Connection>, TupleNode<Connection> {
  prev: Connection | null = null;
  next: Connection | null = null;
  /** The endpoints of info, where the connection table (TupleTable) compares them in place. */
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverPort: number;
  slot = 0;
  samePorts: Connection | null = null;
  lastSeenMicros: number;
  resetSeen = false;
  /** Removed from the table (closed): a second remove is a no-op. */
  removed = false;
  /** The parser is running (a shed must not re-enter it, nor end this connection now). */
  busy = false;
  /** Null before open() returned, and after the parser threw. */
  private parser: StreamParser | null = null;
  /**
   * Null once closed. A closed connection can stay reachable for a while after it left the
   * table: the table's Map leaves its superseded hash tables in the old generation, and
   * those still point at it until the next full GC (see releaseHalf in http2/stream.ts).
   * Letting go of the halves here keeps their reassembly state from being promoted with it:
   * on the TLS bench capture (200k connections) 209 -> 70 MB promoted over the run.
   */
  private halves: readonly [HalfStream, HalfStream] | null;

  constructor(
    readonly key: string,
    readonly info: ConnectionInfo,
    private readonly stats: Stats,
    budget: ReassemblyShared,
  ) {
    this.lastSeenMicros = info.tsMicros;
    this.clientIp = info.client.ip;
    this.clientPort = info.client.port;
    this.serverIp = info.server.ip;
    this.serverPort = info.server.port;
    this.halves = [new HalfStream(this, 0, budget), new HalfStream(this, 1, budget)];
  }

  attach(open: (info: ConnectionInfo) => StreamParser): void {
    this.busy = true;
    try {
      this.parser = open(this.info);
    } catch {
      this.stats.add('tcp.parserErrors');
    } finally {
      this.busy = false;
    }
  }

  dirOf(p: Packet): Dir {
    return p.srcPort === this.info.client.port && p.srcIp === this.info.client.ip ? 0 : 1;
  }

  /**
   * Does this SYN start a new connection on the same 4-tuple? Yes when its ISN differs from
   * the one seen for that direction, or when no SYN was seen there yet but the connection
   * already carried data that way or saw a FIN. A SYN repeating the known ISN is a retransmission.
   */
  restartsOn(dir: Dir, p: Packet): boolean {
    const halves = this.liveHalves();
    const half = halves[dir];
    if (half.synSeen) return half.isn !== p.seq;
    if (half.finSeen || halves[dir === 0 ? 1 : 0].finSeen) return true;
    // Started without its SYN: from the SYN-ACK's ack (the capture reordered SYN and SYN-ACK),
    // which this SYN matches, or from data seen midstream, which a SYN cannot follow.
    return half.started && seqAdd(p.seq, 1) !== half.nextSeq;
  }

  receive(dir: Dir, p: Packet): void {
    const flags = p.flags;
    const halves = this.liveHalves();
    if ((flags & TcpFlag.RST) !== 0) {
      // A RST the receiver would not accept (a spoofed one, far off) does not end the
      // connection for the endpoints, so it does not end it here either.
      if (halves[dir].acceptsReset(p.seq)) this.resetSeen = true;
      else this.stats.add('tcp.resetsDropped.notAtNextSeq');
      return;
    }
    const other = halves[dir === 0 ? 1 : 0];
    // A SYN-ACK whose SYN we missed still tells where the other direction's bytes start.
    if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK) && !other.started) {
      other.startAt(p.ack);
    }
    // Packets reach only connections in the table, but this one may be closed in the middle
    // of the call (the budget shed it): each half goes on with its own packet regardless.
    halves[dir].receive(p.seq, p.payload, flags, p.tsMicros);
    if ((flags & TcpFlag.ACK) !== 0) other.onPeerAck(p.ack, p.tsMicros);
  }

  get finished(): boolean {
    const halves = this.halves;
    return this.resetSeen || halves === null || (halves[0].done && halves[1].done);
  }

  /** Flush both directions (gaps for holes) and tell the parser the connection ended. */
  close(tsMicros: number): void {
    const halves = this.halves;
    if (halves === null) return;
    this.halves = null;
    halves[0].flushForClose(tsMicros);
    halves[1].flushForClose(tsMicros);
    const parser = this.parser;
    if (parser === null) return;
    this.parser = null;
    this.busy = true;
    try {
      parser.onEnd(tsMicros);
    } catch {
      this.stats.add('tcp.parserErrors');
    } finally {
      this.busy = false;
    }
  }

  deliver(dir: Dir, data: Buffer, tsMicros: number): void {
    const parser = this.parser;
    if (parser === null) return;
    this.busy = true;
    try {
      parser.onData(dir, data, tsMicros);
    } catch {
      this.failParser();
    } finally {
      this.busy = false;
    }
  }

  /** The halves of a connection still in the table (only those get packets). */
  private liveHalves(): readonly [HalfStream, HalfStream] {
    if (this.halves === null) throw new Error('tcp: a packet for a closed connection');
    return this.halves;
  }

  gap(dir: Dir, missing: number, tsMicros: number): void {
    const parser = this.parser;
    if (parser === null) return;
    this.busy = true;
    try {
      parser.onGap(dir, missing, tsMicros);
    } catch {
      this.failParser();
    } finally {
      this.busy = false;
    }
  }

  private failParser(): void {
    this.stats.add('tcp.parserErrors');
    this.parser = null;
  }
}
