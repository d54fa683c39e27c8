// UDP has no connections, so flows are made up: a flow is the pair of endpoints, its client
// the sender of the first datagram seen. The first datagram also picks the dissector; a flow
// nobody claims is remembered (so it isn't probed again) and its datagrams counted. The
// table is bounded and flows expire after a quiet period of capture time. Each flow is
// charged to the memory budget ('udp.flows', a fixed cost); when the budget needs room, or
// refuses a new flow, the least recently active flows are ended first (a flow is one
// exchange, mostly: the one quiet longest is the one most likely over). A parser with nothing
// outstanding (settled) is ended at once and the flow keeps only its slot (see settle).

import type { Call } from '../entry.js';
import { MemoryBudget, type MemoryAccount } from '../memory/budget.js';
import type { Packet } from '../decode/packet.js';
import type { Stats } from '../stats.js';
import { ActivityList, type ActivityNode } from '../activity-list.js';
import { TupleTable, type TupleNode } from '../tuple-table.js';
import { udpDissectors } from './registry.js';
import type { DatagramParser, EngineOptions, StreamContext, UdpDissector } from './types.js';
import type { ConnectionEnds } from './dispatch.js';

export interface UdpLimits {
  maxFlows: number;
  idleTimeoutMicros: number;
}

const DEFAULT_LIMITS: UdpLimits = { maxFlows: 65536, idleTimeoutMicros: 30_000_000 };

/**
 * Memory one flow costs: the Flow and its table entry (measured 162 bytes for a flow nobody
 * claims; 389 with the string key it had before TupleTable), and once a dissector claims it
 * the StreamContext with its closures and the parser object (a DNS flow: 1,800 bytes before
 * its queries). Measured with scripts/measure-memory-costs.ts.
 */
export const UDP_FLOW_COST = 200;
export const CLAIMED_FLOW_COST = 1400;

/** A flow; its client is the sender of its first datagram (TupleNode's endpoints). */
interface Flow extends ActivityNode<Flow>, TupleNode<Flow> {
  /** The dissector that claimed the flow; null: none did. */
  dissector: UdpDissector | null;
  /** Null when no dissector claimed the flow, or while its parser is settled (see settle). */
  parser: DatagramParser | null;
  lastSeen: number;
}

export class UdpFlows {
  /** Flows by their endpoints (tuple-table.ts says why not by a four-tuple string). */
  private readonly flows = new TupleTable<Flow>();
  /**
   * Flows by last activity, least recent first: eviction and expiry read from the head.
   * (A Map used as a queue, deleting from its front, makes every "oldest" lookup skip all
   * deleted slots: 300,000 flows from distinct clients took 52 s that way.)
   */
  private readonly activity = new ActivityList<Flow>();
  private readonly limits: UdpLimits;
  private readonly account: MemoryAccount;
  private lastSweep = 0;
  /** The flow whose datagram is being handled: never ended by a shed in the middle of it. */
  private current: Flow | null = null;

  constructor(
    private readonly options: EngineOptions,
    private readonly stats: Stats,
    private readonly emit: (call: Call, client: ConnectionEnds['client'], server: ConnectionEnds['server']) => void,
    limits: Partial<UdpLimits> = {},
    private readonly memory: MemoryBudget = new MemoryBudget(options.memoryBudget, stats),
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.account = memory.account('udp.flows', (want) => this.shed(want));
  }

  get flowCount(): number {
    return this.flows.size;
  }

  push(p: Packet): void {
    let flow = this.flows.find(p);
    if (flow === null) {
      if (this.flows.size >= this.limits.maxFlows) this.evictOldest('udp.flowsEvicted');
      while (!this.account.charge(UDP_FLOW_COST + CLAIMED_FLOW_COST)) {
        // The flow table is where the budget wants room from: the oldest flow goes.
        if (this.flows.size === 0) {
          this.stats.add('udp.datagramsDropped.overBudget');
          return;
        }
        this.evictOldest('udp.flowsEvicted.memory');
      }
      flow = {
        slot: 0, samePorts: null, clientIp: p.srcIp, clientPort: p.srcPort, serverIp: p.dstIp, serverPort: p.dstPort,
        dissector: null, parser: null, lastSeen: p.tsMicros, prev: null, next: null,
      };
      this.claim(flow, p);
      if (flow.parser === null) this.account.release(CLAIMED_FLOW_COST); // charged up front, before claim() makes it
      this.flows.insert(flow);
      this.activity.append(flow);
    } else {
      this.activity.touch(flow);
      if (flow.parser === null && flow.dissector !== null && !this.reopen(flow)) return;
    }
    flow.lastSeen = p.tsMicros;
    if (!flow.parser) {
      this.stats.add('engine.unclaimedDatagrams');
    } else {
      const dir = p.srcIp === flow.clientIp && p.srcPort === flow.clientPort ? 0 : 1;
      this.current = flow;
      try {
        flow.parser.onDatagram(dir, p.payload, p.tsMicros);
      } catch {
        this.stats.add('engine.parserErrors');
      } finally {
        this.current = null;
      }
      if (flow.parser.settled === true) this.settle(flow, p.tsMicros);
    }
    if (p.tsMicros - this.lastSweep > 1_000_000) this.expireIdle(p.tsMicros);
  }

  expireIdle(now: number): void {
    this.lastSweep = now;
    for (let flow = this.activity.head; flow !== null && now - flow.lastSeen > this.limits.idleTimeoutMicros; flow = this.activity.head) {
      this.end(flow, now);
    }
  }

  closeAll(now: number): void {
    for (let flow = this.activity.head; flow !== null; flow = this.activity.head) this.end(flow, now);
  }

  private claim(flow: Flow, p: Packet): void {
    for (const d of udpDissectors) {
      let yes = false;
      try {
        yes = d.detect(p.payload, p.srcPort, p.dstPort);
      } catch {
        this.stats.add(`engine.detectorErrors.${d.name}`); // a bug: detectors must not throw
        yes = false;
      }
      if (yes) {
        this.stats.add(`engine.flows.${d.name}`);
        flow.dissector = d;
        flow.parser = this.open(flow, d);
        return;
      }
    }
  }

  private open(flow: Flow, d: UdpDissector): DatagramParser {
    const client = { ip: flow.clientIp, port: flow.clientPort };
    const server = { ip: flow.serverIp, port: flow.serverPort };
    const ctx: StreamContext = {
      client,
      server,
      midstream: false,
      options: this.options,
      stats: this.stats,
      memory: this.memory,
      emit: (call) => this.emit(call, client, server),
      switchTo: () => null, // no upgrades over UDP
    };
    return d.create(ctx);
  }

  /**
   * The parser has nothing outstanding (a DNS client's queries all answered): it ends now,
   * and the flow keeps only its slot and its dissector. Parsers that waited for their flow
   * to go quiet (30 s) piled up: on the DNS bench capture (388k lookups on 28,307 flows)
   * peak RSS 164 -> 124 MB, promoted 65 -> 29 MB, CPU 0.88 (7.14 -> 6.14 s, median of 8
   * pairs), output byte-identical. The flow's next datagram gets a new parser of the same
   * dissector and the same orientation: what it sees is what the old one would have (its
   * state was empty), a stray response is still an unmatched response, and a query the
   * detector would not take first is still taken.
   */
  private settle(flow: Flow, now: number): void {
    const parser = flow.parser!;
    flow.parser = null;
    this.account.release(CLAIMED_FLOW_COST);
    try {
      parser.onEnd(now);
    } catch {
      this.stats.add('engine.parserErrors');
    }
  }

  /** A settled flow's next datagram: a new parser for it. False: no room in the budget (dropped, counted). */
  private reopen(flow: Flow): boolean {
    this.current = flow; // a shed for this charge must not end the flow it is for
    try {
      if (!this.account.charge(CLAIMED_FLOW_COST)) {
        this.stats.add('udp.datagramsDropped.overBudget');
        return false;
      }
    } finally {
      this.current = null;
    }
    flow.parser = this.open(flow, flow.dissector!);
    return true;
  }

  private end(flow: Flow, now: number): void {
    this.flows.remove(flow);
    this.activity.remove(flow);
    this.account.release(flowCost(flow));
    try {
      flow.parser?.onEnd(now);
    } catch {
      this.stats.add('engine.parserErrors');
    }
  }

  private evictOldest(counter: string): void {
    const oldest = this.activity.head;
    if (oldest === null) return;
    this.stats.add(counter);
    this.end(oldest, oldest.lastSeen);
  }

  /** The budget wants about `want` bytes back: the least recently active flows end (their pending calls emitted). */
  private shed(want: number): void {
    let freed = 0;
    for (let flow = this.activity.head; flow !== null && freed < want; ) {
      const next = flow.next;
      if (flow !== this.current) {
        this.stats.add('udp.flowsEvicted.memory');
        freed += flowCost(flow);
        this.end(flow, flow.lastSeen);
      }
      flow = next;
    }
  }
}

function flowCost(flow: Flow): number {
  return flow.parser === null ? UDP_FLOW_COST : UDP_FLOW_COST + CLAIMED_FLOW_COST;
}
