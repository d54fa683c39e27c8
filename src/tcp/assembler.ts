// The connection table: routes each TCP packet to its connection (creating, re-creating on
// 4-tuple reuse, closing on FIN/FIN or RST, evicting when idle or when the table is full)
// and lets the connection's two HalfStreams turn segments into ordered bytes and gaps.
// node_pcap's TCPTracker is not used: it is IPv4 only, never frees sessions and merges
// reused 4-tuples.
// Every tracked connection is charged to the memory budget ('tcp.connections', a fixed cost
// each); when the budget needs room, or refuses a new connection, the least recently active
// connections are evicted first (as at maxConnections): the one idle longest is the one
// most likely dead, or least likely to carry a call that still completes.

import type { Packet } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import type { StreamParser } from '../protocols/types.js';
import type { Stats } from '../stats.js';
import { DEFAULT_MEMORY_BUDGET, MemoryBudget, type MemoryAccount } from '../memory/budget.js';
import { ActivityList } from '../activity-list.js';
import { ClosedTuples } from './closed-tuples.js';
import { Connection, type ConnectionInfo } from './connection.js';
import type { ReassemblyShared } from './half-stream.js';
import {
  closedTupleMemoryMicros,
  CONNECTION_COST,
  defaultTcpLimits,
  expireEveryMicros,
  expireEveryPackets,
  type TcpLimits,
} from './limits.js';
import { senderIsClientGuess, tupleKey } from './tuple.js';
import { TupleTable } from '../tuple-table.js';

export type { ConnectionInfo } from './connection.js';
export type { TcpLimits } from './limits.js';

export class TcpAssembler {
  private readonly limits: TcpLimits;
  private readonly shared: ReassemblyShared;
  private readonly tableAccount: MemoryAccount;
  /** The connection the current packet is for: never evicted by a shed in the middle of it. */
  private current: Connection | null = null;
  /** Connections by their endpoints (tuple-table.ts says why not by tupleKey's string). */
  private readonly table = new TupleTable<Connection>();
  private readonly activity = new ActivityList<Connection>();
  private readonly closed: ClosedTuples;
  private packetsSinceExpiry = 0;
  private lastExpiryMicros = Number.NaN;

  constructor(
    private readonly open: (info: ConnectionInfo) => StreamParser,
    private readonly stats: Stats,
    limits?: Partial<TcpLimits>,
    readonly memory: MemoryBudget = new MemoryBudget(DEFAULT_MEMORY_BUDGET, stats),
  ) {
    this.limits = { ...defaultTcpLimits, ...limits };
    this.shared = { limits: this.limits, stats, memory };
    this.tableAccount = memory.account('tcp.connections', (want) => this.shedConnections(want));
    this.closed = new ClosedTuples(this.limits.maxConnections);
  }

  get connectionCount(): number {
    return this.table.size;
  }

  /** Out-of-order bytes (with their per-segment overhead) currently buffered across all connections. */
  get bufferedBytes(): number {
    return this.memory.usedBy('tcp.reorder');
  }

  push(p: Packet): void {
    const ts = p.tsMicros;
    if (++this.packetsSinceExpiry >= expireEveryPackets || ts - this.lastExpiryMicros > expireEveryMicros) {
      this.expireIdle(ts);
    } else if (Number.isNaN(this.lastExpiryMicros)) {
      this.lastExpiryMicros = ts;
    }
    const flags = p.flags;
    let conn = this.table.find(p);
    if (conn === null) {
      // The tuple's string is built only here, for the closed tuples' memory and a new connection.
      const key = tupleKey(p);
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
      if (conn === null) return;
    } else if ((flags & TcpFlag.SYN) !== 0 && conn.restartsOn(conn.dirOf(p), p)) {
      this.stats.add('tcp.tuplesReused');
      this.remove(conn, ts);
      conn = this.create(conn.key, p);
      if (conn === null) return;
    } else {
      this.activity.touch(conn);
      conn.lastSeenMicros = ts;
    }
    this.current = conn;
    try {
      conn.receive(conn.dirOf(p), p);
    } finally {
      this.current = null;
    }
    if (conn.removed) return; // evicted meanwhile (a shed could not avoid it)
    if (conn.finished) {
      if (conn.resetSeen) this.stats.add('tcp.resets');
      this.remove(conn, ts);
      this.closed.remember(conn.key, ts);
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

  /** A new connection for `key`, or null when the budget has no room even after evicting. */
  private create(key: string, p: Packet): Connection | null {
    if (this.table.size >= this.limits.maxConnections && this.activity.head !== null) {
      this.stats.add('tcp.connectionsEvicted.capacity');
      this.remove(this.activity.head, p.tsMicros);
    }
    while (!this.tableAccount.charge(CONNECTION_COST)) {
      // The table is where the budget wants room from: make it here, oldest first.
      const oldest = this.activity.head;
      if (oldest === null) {
        this.stats.add('tcp.connectionsDropped.overBudget');
        if (p.payload.length > 0) this.stats.add('tcp.bytesDropped.memory', p.payload.length);
        return null;
      }
      this.stats.add('tcp.connectionsEvicted.memory');
      this.remove(oldest, p.tsMicros);
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
    const conn = new Connection(key, info, this.stats, this.shared);
    this.table.insert(conn);
    this.activity.append(conn);
    this.stats.add('tcp.connections');
    conn.attach(this.open);
    return conn;
  }

  /** The budget wants about `want` bytes back: evict the least recently active connections. */
  private shedConnections(want: number): void {
    let freed = 0;
    let conn = this.activity.head;
    while (conn !== null && freed < want) {
      const next = conn.next;
      if (conn !== this.current && !conn.busy) {
        this.stats.add('tcp.connectionsEvicted.memory');
        // Its buffers and its parser's memory go with it; only the fixed cost counts here.
        this.remove(conn, conn.lastSeenMicros);
        freed += CONNECTION_COST;
      }
      conn = next;
    }
  }

  /** Flush, end and forget one connection. */
  private remove(conn: Connection, tsMicros: number): void {
    if (conn.removed) return;
    conn.removed = true;
    this.table.remove(conn);
    this.activity.remove(conn);
    this.tableAccount.release(CONNECTION_COST);
    conn.close(tsMicros);
  }
}
