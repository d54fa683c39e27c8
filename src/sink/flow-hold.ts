// Packets held by connection (or UDP flow) until a call of it is reported, then written with
// everything after them: the core of --pcap-out, used twice. `kubectl tap read --pcap-out`
// holds a file's packets until the session reports their call (src/sink/pcap-out.ts); the
// tapper's GET /packets holds a node's packets until it reports their call to that session
// (tapper-image/packet-stream.ts). Whole connections, because tshark needs a connection from
// its start to decode HTTP/2's header tables, AMQP or TLS.
//
// Bounded by bytes and flows. Over a bound, closed connections nobody reported are let go
// first, then the least recently active; their packets are counted (packetsDropped) and a
// flow that lost some is partial, counted when a call of it is reported after all
// (flowsIncomplete). With a memory account (the tapper's engine budget), what is held is
// charged there too, and the budget may ask for some of it back (oldest first).

import type { Entry } from '../entry.js';
import type { MemoryAccount } from '../memory/budget.js';

/** A held packet's fixed cost besides its bytes: the Buffer object and its slot (measured ~150 B). */
const PACKET_COST = 160;
/** A flow's fixed cost in the table: the key, the object, its arrays. */
const FLOW_COST = 400;

export interface FlowHoldLimits {
  /** Bytes of packets waiting for a reported call, at most. */
  maxHeldBytes: number;
  /** Flows remembered at most (kept ones included). */
  maxFlows: number;
}

interface HeldPacket {
  tsMicros: number;
  linkType: number;
  data: Buffer;
  originalLength: number;
}

export interface HeldFlow {
  readonly key: string;
  /** Where its packets came from: a file, a node (names the pcapng interface). */
  readonly source: string;
  kept: boolean;
  closed: boolean;
  held: HeldPacket[];
  heldBytes: number;
  /** Some of its packets were let go before a call of it was reported. */
  partial: boolean;
  /** Packets written since it was kept. */
  written: number;
  /** Calls reported before any of its packets came (live: entries and packets arrive on two streams). */
  callsBeforePackets: number;
  /** For the caller's own use (pcap-out's duplicate check). */
  recent: Array<{ signature: string; tsMicros: number }>;
}

export type WritePacket = (flow: HeldFlow, tsMicros: number, linkType: number, data: Buffer, originalLength: number) => void;

export class FlowHold {
  private readonly flows = new Map<string, HeldFlow>();
  private heldBytes = 0;
  readonly counts = { flowsKept: 0, packetsDropped: 0, flowsIncomplete: 0 };

  constructor(
    private readonly limits: FlowHoldLimits,
    private readonly write: WritePacket,
    private readonly account: MemoryAccount | null = null,
  ) {}

  get bytesHeld(): number {
    return this.heldBytes;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** The flow of a packet, made on its first packet; it becomes the most recently active. */
  touch(key: string, source: string): HeldFlow {
    let flow = this.flows.get(key);
    if (flow) this.flows.delete(key); // re-inserted last: the map is kept in least-recent order
    else {
      flow = { key, source, kept: false, closed: false, held: [], heldBytes: 0, partial: false, written: 0, callsBeforePackets: 0, recent: [] };
      this.account?.charge(FLOW_COST);
    }
    this.flows.set(key, flow);
    return flow;
  }

  /** A packet of `flow` (its bytes are valid during the call only): written if kept, else held. */
  packet(flow: HeldFlow, closing: boolean, tsMicros: number, linkType: number, data: Buffer, originalLength: number): void {
    if (closing) flow.closed = true;
    if (flow.kept) {
      flow.written += 1;
      flow.callsBeforePackets = 0;
      this.write(flow, tsMicros, linkType, data, originalLength);
      return;
    }
    const cost = data.length + PACKET_COST;
    if (this.account !== null && !this.account.charge(cost)) {
      // The budget is full and this is the holder to give: the oldest first, then once more.
      this.shed(cost);
      if (!this.account.charge(cost)) {
        this.counts.packetsDropped += 1;
        flow.partial = true;
        return;
      }
    }
    const copy = Buffer.from(data); // the frame's bytes are reused for the next frame
    flow.held.push({ tsMicros, linkType, data: copy, originalLength });
    flow.heldBytes += cost;
    this.heldBytes += cost;
    if (this.heldBytes > this.limits.maxHeldBytes || this.flows.size > this.limits.maxFlows) this.evict();
  }

  /** A call of the flow `key` was reported: what it holds is written, and what comes after. */
  keep(key: string, source: string): void {
    const flow = this.flows.get(key) ?? this.touch(key, source);
    if (flow.written === 0) flow.callsBeforePackets += 1;
    if (flow.kept) return;
    flow.kept = true;
    this.counts.flowsKept += 1;
    if (flow.partial) this.counts.flowsIncomplete += 1;
    const held = flow.held;
    this.release(flow);
    for (const h of held) {
      flow.written += 1;
      this.write(flow, h.tsMicros, h.linkType, h.data, h.originalLength);
    }
    if (flow.written > 0) flow.callsBeforePackets = 0;
  }

  /** Not ours to report (another node owns its calls): forgotten, its packets let go uncounted. */
  forget(key: string): void {
    const flow = this.flows.get(key);
    if (!flow || flow.kept) return;
    this.release(flow);
    this.flows.delete(key);
    this.account?.release(FLOW_COST);
  }

  /** Calls whose flow never had a packet written (its packets let go, or never seen). */
  callsWithoutPackets(): number {
    let n = 0;
    for (const flow of this.flows.values()) n += flow.callsBeforePackets;
    return n;
  }

  /** The budget wants about `want` bytes back: the least recently active unreported flows go. */
  shed(want: number): void {
    let freed = 0;
    for (const [key, flow] of this.flows) {
      if (freed >= want) return;
      if (flow.kept || flow.held.length === 0) continue;
      freed += flow.heldBytes;
      this.drop(key, flow);
    }
  }

  close(): void {
    for (const flow of this.flows.values()) this.release(flow);
    this.account?.close();
  }

  private release(flow: HeldFlow): void {
    this.heldBytes -= flow.heldBytes;
    this.account?.release(flow.heldBytes);
    flow.held = [];
    flow.heldBytes = 0;
  }

  private drop(key: string, flow: HeldFlow): void {
    this.counts.packetsDropped += flow.held.length;
    this.release(flow);
    flow.partial = true;
    if (flow.closed || this.flows.size > this.limits.maxFlows) this.delete(key);
  }

  private delete(key: string): void {
    this.flows.delete(key);
    this.account?.release(FLOW_COST);
  }

  /** Over a bound: closed connections nobody reported first, then the least recently active. */
  private evict(): void {
    const within = () => this.heldBytes <= this.limits.maxHeldBytes * 0.75 && this.flows.size <= this.limits.maxFlows;
    for (const [key, flow] of this.flows) {
      if (within()) return;
      if (!flow.kept && flow.closed) this.drop(key, flow);
    }
    for (const [key, flow] of this.flows) {
      if (within()) return;
      if (!flow.kept) this.drop(key, flow);
      else if (this.flows.size > this.limits.maxFlows) this.delete(key);
    }
  }
}

/** A connection's key whichever way its packet goes: transport and both ends, ordered. */
export function flowKey(transport: string, aIp: string, aPort: number, bIp: string, bPort: number): string {
  const a = `${aIp}|${aPort}`;
  const b = `${bIp}|${bPort}`;
  return a < b ? `${transport}|${a}|${b}` : `${transport}|${b}|${a}`;
}

/** The key of the flow that carried an entry's call. */
export function entryFlowKey(entry: Entry): string {
  const transport = entry.protocol === 'dns' && entry.request.transport === 'udp' ? 'udp' : 'tcp';
  return flowKey(transport, entry.src.ip, entry.src.port, entry.dst.ip, entry.dst.port);
}
