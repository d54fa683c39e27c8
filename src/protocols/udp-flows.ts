// UDP has no connections, so flows are made up: a flow is the pair of endpoints, its client
// the sender of the first datagram seen. The first datagram also picks the dissector; a flow
// nobody claims is remembered (so it isn't probed again) and its datagrams counted. The
// table is bounded and flows expire after a quiet period of capture time. Each flow is
// charged to the memory budget ('udp.flows', a fixed cost); when the budget needs room, or
// refuses a new flow, the oldest flows are ended first (a flow is one exchange, mostly:
// the oldest is the one most likely over).

import type { Call } from '../entry.js';
import { MemoryBudget, type MemoryAccount } from '../memory/budget.js';
import type { Packet } from '../decode/packet.js';
import type { Stats } from '../stats.js';
import { udpDissectors } from './registry.js';
import type { DatagramParser, EngineOptions, StreamContext } from './types.js';
import type { ConnectionEnds } from './dispatch.js';

export interface UdpLimits {
  maxFlows: number;
  idleTimeoutMicros: number;
}

const DEFAULT_LIMITS: UdpLimits = { maxFlows: 65536, idleTimeoutMicros: 30_000_000 };

/**
 * Memory one flow costs before what its parser holds: the Flow, its key string and Map
 * entry, the StreamContext with its closures, and the dissector's parser object.
 * Measured with scripts/measure-memory-costs.ts.
 */
export const UDP_FLOW_COST = 1200;

interface Flow {
  clientIp: string;
  clientPort: number;
  parser: DatagramParser | null; // null: no dissector claimed the flow
  lastSeen: number;
}

export class UdpFlows {
  private readonly flows = new Map<string, Flow>();
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
    const forward = p.srcIp < p.dstIp || (p.srcIp === p.dstIp && p.srcPort <= p.dstPort);
    const key = forward
      ? `${p.srcIp}|${p.srcPort}|${p.dstIp}|${p.dstPort}`
      : `${p.dstIp}|${p.dstPort}|${p.srcIp}|${p.srcPort}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.flows.size >= this.limits.maxFlows) this.evictOldest('udp.flowsEvicted');
      while (!this.account.charge(UDP_FLOW_COST)) {
        // The flow table is where the budget wants room from: the oldest flow goes.
        if (this.flows.size === 0) {
          this.stats.add('udp.datagramsDropped.overBudget');
          return;
        }
        this.evictOldest('udp.flowsEvicted.memory');
      }
      flow = { clientIp: p.srcIp, clientPort: p.srcPort, parser: this.claim(p), lastSeen: p.tsMicros };
      this.flows.set(key, flow);
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
    }
    if (p.tsMicros - this.lastSweep > 1_000_000) this.expireIdle(p.tsMicros);
  }

  expireIdle(now: number): void {
    this.lastSweep = now;
    for (const [key, flow] of this.flows) {
      if (now - flow.lastSeen > this.limits.idleTimeoutMicros) this.end(key, flow, now);
    }
  }

  closeAll(now: number): void {
    for (const [key, flow] of this.flows) this.end(key, flow, now);
  }

  private claim(p: Packet): DatagramParser | null {
    for (const d of udpDissectors) {
      let yes = false;
      try {
        yes = d.detect(p.payload, p.srcPort, p.dstPort);
      } catch {
        yes = false;
      }
      if (yes) {
        this.stats.add(`engine.flows.${d.name}`);
        const client = { ip: p.srcIp, port: p.srcPort };
        const server = { ip: p.dstIp, port: p.dstPort };
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
    }
    return null;
  }

  private end(key: string, flow: Flow, now: number): void {
    this.flows.delete(key);
    this.account.release(UDP_FLOW_COST);
    try {
      flow.parser?.onEnd(now);
    } catch {
      this.stats.add('engine.parserErrors');
    }
  }

  private evictOldest(counter: string): void {
    // Map iteration order is insertion order: the first flow is the oldest created.
    const first = this.flows.entries().next();
    if (first.done) return;
    this.stats.add(counter);
    this.end(first.value[0], first.value[1], first.value[1].lastSeen);
  }

  /** The budget wants about `want` bytes back: the oldest flows end (their pending calls emitted). */
  private shed(want: number): void {
    let freed = 0;
    for (const [key, flow] of this.flows) {
      if (freed >= want) break;
      if (flow === this.current) continue;
      this.stats.add('udp.flowsEvicted.memory');
      this.end(key, flow, flow.lastSeen);
      freed += UDP_FLOW_COST;
    }
  }
}
