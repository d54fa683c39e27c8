// The connection table: routes each TCP packet to its connection (creating, re-creating on
// 4-tuple reuse, closing on FIN/FIN or RST, evicting when idle or when the table is full)
// and lets the connection's two HalfStreams turn segments into ordered bytes and gaps.
// node_pcap's TCPTracker is not used: it is IPv4 only, never frees sessions and merges
// reused 4-tuples.

import type { Packet } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import type { StreamParser } from '../protocols/types.js';
import type { Stats } from '../stats.js';
import { ActivityList } from './activity-list.js';
import { BufferBudget } from './buffer-budget.js';
import { ClosedTuples } from './closed-tuples.js';
import { Connection, type ConnectionInfo } from './connection.js';
import {
  closedTupleMemoryMicros,
  defaultTcpLimits,
  expireEveryMicros,
  expireEveryPackets,
  type TcpLimits,
} from './limits.js';
import { senderIsClientGuess, tupleKey } from './tuple.js';

export type { ConnectionInfo } from './connection.js';
export type { TcpLimits } from './limits.js';

export class TcpAssembler {
  private readonly limits: TcpLimits;
  private readonly budget: BufferBudget;
  private readonly table = new Map<string, Connection>();
  private readonly activity = new ActivityList<Connection>();
  private readonly closed: ClosedTuples;
  private packetsSinceExpiry = 0;
  private lastExpiryMicros = Number.NaN;

  constructor(
    private readonly open: (info: ConnectionInfo) => StreamParser,
    private readonly stats: Stats,
    limits?: Partial<TcpLimits>,
  ) {
    this.limits = { ...defaultTcpLimits, ...limits };
    this.budget = new BufferBudget(this.limits, stats);
    this.closed = new ClosedTuples(this.limits.maxConnections);
  }

  get connectionCount(): number {
    return this.table.size;
  }

  /** Out-of-order bytes currently buffered across all connections. */
  get bufferedBytes(): number {
    return this.budget.total;
  }

  push(p: Packet): void {
    const ts = p.tsMicros;
    if (++this.packetsSinceExpiry >= expireEveryPackets || ts - this.lastExpiryMicros > expireEveryMicros) {
      this.expireIdle(ts);
    } else if (Number.isNaN(this.lastExpiryMicros)) {
      this.lastExpiryMicros = ts;
    }
    const flags = p.flags;
    const key = tupleKey(p);
    let conn = this.table.get(key);
    if (conn === undefined) {
      if ((flags & TcpFlag.SYN) === 0 && this.closed.has(key)) {
        // The bare ACK that completes every FIN exchange is expected, not worth a counter.
        if (p.payload.length > 0 || (flags & (TcpFlag.FIN | TcpFlag.RST)) !== 0) this.stats.add('tcp.packetsAfterClose');
        return;
      }
      if ((flags & TcpFlag.RST) !== 0) {
        this.stats.add('tcp.resetsWithoutConnection');
        return;
      }
      conn = this.create(key, p);
    } else if ((flags & TcpFlag.SYN) !== 0 && conn.restartsOn(conn.dirOf(p), p)) {
      this.stats.add('tcp.tuplesReused');
      this.remove(conn, ts);
      conn = this.create(key, p);
    } else {
      this.activity.touch(conn);
      conn.lastSeenMicros = ts;
    }
    conn.receive(conn.dirOf(p), p);
    if (conn.finished) {
      if (conn.resetSeen) this.stats.add('tcp.resets');
      this.remove(conn, ts);
      this.closed.remember(key, ts);
    }
  }

  expireIdle(nowMicros: number): void {
    this.packetsSinceExpiry = 0;
    this.lastExpiryMicros = nowMicros;
    const cutoff = nowMicros - this.limits.idleTimeoutMicros;
    for (let conn = this.activity.head; conn !== null && conn.lastSeenMicros < cutoff; conn = this.activity.head) {
      this.stats.add('tcp.connectionsEvicted.idle');
      this.remove(conn, nowMicros);
    }
    this.closed.expire(nowMicros - closedTupleMemoryMicros(this.limits));
  }

  closeAll(nowMicros: number): void {
    for (let conn = this.activity.head; conn !== null; conn = this.activity.head) this.remove(conn, nowMicros);
    this.closed.clear();
  }

  private create(key: string, p: Packet): Connection {
    if (this.table.size >= this.limits.maxConnections && this.activity.head !== null) {
      this.stats.add('tcp.connectionsEvicted.capacity');
      this.remove(this.activity.head, p.tsMicros);
    }
    this.closed.forget(key);
    const flags = p.flags;
    let senderIsClient: boolean;
    let midstream = false;
    if ((flags & TcpFlag.SYN) !== 0) {
      senderIsClient = (flags & TcpFlag.ACK) === 0;
    } else {
      midstream = true;
      senderIsClient = senderIsClientGuess(p.srcPort, p.dstPort);
      this.stats.add('tcp.connectionsMidstream');
    }
    const src = { ip: p.srcIp, port: p.srcPort };
    const dst = { ip: p.dstIp, port: p.dstPort };
    const info: ConnectionInfo = {
      client: senderIsClient ? src : dst,
      server: senderIsClient ? dst : src,
      midstream,
      tsMicros: p.tsMicros,
    };
    const conn = new Connection(key, info, this.stats, this.budget);
    this.table.set(key, conn);
    this.activity.append(conn);
    this.stats.add('tcp.connections');
    conn.attach(this.open);
    return conn;
  }

  /** Flush, end and forget one connection. */
  private remove(conn: Connection, tsMicros: number): void {
    this.table.delete(conn.key);
    this.activity.remove(conn);
    conn.close(tsMicros);
  }
}
