// --pcap-out FILE: the packets of the reported calls, as pcapng for Wireshark and tshark.
// A packet is kept when its connection (or UDP flow) carried a call that was reported
// (after --filter), from the connection's first packet to its last: tshark needs a
// connection from its start to decode HTTP/2's header tables, AMQP or TLS. Packets are
// held, bounded, until their connection's first call is reported or the connection is given
// up; each packet is written once (a packet captured on two interfaces, on `any` and `lo`,
// is one packet). Raw packets carry what entries redact: the session says so on stderr.

import type { Frame } from '../capture/frame.js';
import type { Packet } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import type { Entry } from '../entry.js';
import { PcapngWriter } from './pcapng-writer.js';

/** Packets waiting for their connection's first reported call, in bytes. */
const PENDING_BUDGET_BYTES = 64 * 1024 * 1024;
const MAX_FLOWS = 100_000;
/**
 * The same packet seen twice within this long is one packet captured on two interfaces (`any`
 * and `lo`, a pod's veth and the node's bridge), written once. A retransmission comes later.
 */
const DUPLICATE_WINDOW_MICROS = 50;
const RECENT_SIGNATURES = 16;

interface Held {
  tsMicros: number;
  linkType: number;
  data: Buffer;
  originalLength: number;
}

interface Flow {
  kept: boolean;
  closed: boolean;
  held: Held[];
  heldBytes: number;
  /** Some of its packets were let go before a call of it was reported. */
  partial: boolean;
  recent: Array<{ signature: string; tsMicros: number }>;
}

export class PcapOut {
  private readonly writer: PcapngWriter;
  private readonly flows = new Map<string, Flow>();
  private heldBytes = 0;
  readonly counts = { packets: 0, duplicates: 0, flowsKept: 0, packetsDropped: 0, flowsIncomplete: 0, callsWithoutPackets: 0 };

  constructor(
    path: string,
    private readonly source: string,
  ) {
    this.writer = new PcapngWriter(path, `kubectl-tap: packets of the reported calls from ${source}`);
  }

  /** Every decoded packet, in capture order (the engine's packet hook). */
  observe(packet: Packet, frame: Frame): void {
    const key = flowKey(packet.transport, packet.srcIp, packet.srcPort, packet.dstIp, packet.dstPort);
    let flow = this.flows.get(key);
    if (flow) this.flows.delete(key); // re-inserted last: the map is kept in least-recent order
    else flow = { kept: false, closed: false, held: [], heldBytes: 0, partial: false, recent: [] };
    this.flows.set(key, flow);
    if (packet.transport === 'tcp' && (packet.flags & (TcpFlag.FIN | TcpFlag.RST)) !== 0) flow.closed = true;
    if (this.isDuplicate(flow, packet)) return void (this.counts.duplicates += 1);
    if (flow.kept) this.write(frame.tsMicros, frame.linkType, frame.data, frame.originalLength);
    else {
      const data = Buffer.from(frame.data); // the frame's bytes are reused for the next frame
      flow.held.push({ tsMicros: frame.tsMicros, linkType: frame.linkType, data, originalLength: frame.originalLength });
      flow.heldBytes += data.length;
      this.heldBytes += data.length;
    }
    if (this.heldBytes > PENDING_BUDGET_BYTES || this.flows.size > MAX_FLOWS) this.evict();
  }

  /** A reported entry: its connection's packets are kept. */
  add(entry: Entry): void {
    const transport = entry.protocol === 'dns' && entry.request.transport === 'udp' ? 'udp' : 'tcp';
    const flow = this.flows.get(flowKey(transport, entry.src.ip, entry.src.port, entry.dst.ip, entry.dst.port));
    if (!flow) return void (this.counts.callsWithoutPackets += 1);
    if (flow.kept) return;
    flow.kept = true;
    this.counts.flowsKept += 1;
    if (flow.partial) this.counts.flowsIncomplete += 1;
    for (const h of flow.held) this.write(h.tsMicros, h.linkType, h.data, h.originalLength);
    this.heldBytes -= flow.heldBytes;
    flow.held = [];
    flow.heldBytes = 0;
  }

  close(): void {
    this.writer.close();
  }

  private write(tsMicros: number, linkType: number, data: Buffer, originalLength: number): void {
    this.writer.writePacket(this.writer.interfaceFor(this.source, linkType), tsMicros, data, originalLength);
    this.counts.packets += 1;
  }

  /** Same direction, sequence numbers, flags and first payload bytes, within DUPLICATE_WINDOW_MICROS. */
  private isDuplicate(flow: Flow, p: Packet): boolean {
    const signature = `${p.srcIp}|${p.srcPort}|${p.seq}|${p.ack}|${p.flags}|${p.payload.length}|${p.payload.subarray(0, 16).toString('hex')}`;
    const seen = flow.recent.some((r) => r.signature === signature && p.tsMicros - r.tsMicros <= DUPLICATE_WINDOW_MICROS);
    if (!seen) {
      flow.recent.push({ signature, tsMicros: p.tsMicros });
      if (flow.recent.length > RECENT_SIGNATURES) flow.recent.shift();
    }
    return seen;
  }

  /** Over budget: let go of closed connections nobody reported first, then the least recent. */
  private evict(): void {
    const drop = (key: string, flow: Flow) => {
      this.counts.packetsDropped += flow.held.length;
      this.heldBytes -= flow.heldBytes;
      flow.held = [];
      flow.heldBytes = 0;
      flow.partial = true;
      if (flow.closed || this.flows.size > MAX_FLOWS) this.flows.delete(key);
    };
    for (const [key, flow] of this.flows) {
      if (this.heldBytes <= PENDING_BUDGET_BYTES * 0.75 && this.flows.size <= MAX_FLOWS) return;
      if (!flow.kept && flow.closed) drop(key, flow);
    }
    for (const [key, flow] of this.flows) {
      if (this.heldBytes <= PENDING_BUDGET_BYTES * 0.75 && this.flows.size <= MAX_FLOWS) return;
      if (flow.kept) {
        if (this.flows.size > MAX_FLOWS) this.flows.delete(key);
      } else drop(key, flow);
    }
  }
}

function flowKey(transport: string, aIp: string, aPort: number, bIp: string, bPort: number): string {
  const a = `${aIp}|${aPort}`;
  const b = `${bIp}|${bPort}`;
  return a < b ? `${transport}|${a}|${b}` : `${transport}|${b}|${a}`;
}
