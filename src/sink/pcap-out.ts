// --pcap-out FILE: the packets of the reported calls, as pcapng for Wireshark and tshark.
// A packet is kept when its connection (or UDP flow) carried a call that was reported
// (after --filter), from the connection's first packet to its last (src/sink/flow-hold.ts
// holds them until then); each packet is written once (a packet captured on two interfaces,
// on `any` and `lo`, is one packet). Raw packets carry what entries redact: the session says
// so on stderr.
//
// Two sources: `kubectl tap read` hands it every decoded packet of the file (observe); a live
// session hands it the packets the tappers streamed (observeStreamed), each node's on an
// interface of its own, and an entry keeps the packets of its flow from the node that
// reported it (a call between nodes is seen by both; only its owner's copy is written).

import type { Frame } from '../capture/frame.js';
import type { Packet } from '../decode/packet.js';
import { TcpFlag } from '../decode/packet.js';
import { entryMicros, type Entry } from '../entry.js';
import { entryFlowKey, flowKey, FlowHold, type HeldFlow } from './flow-hold.js';
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
/** A reported call's last packets (the final ACK) may trail its response by this much. */
const AFTER_LAST_CALL_SLACK_MICROS = 1_000;

/** A packet as a tapper streams it (GET /packets, docs/tapper-api.md). */
export interface StreamedPacket {
  /** The flow key (flow-hold.ts's flowKey) the tapper decoded. */
  flow: string;
  closing: boolean;
  tsMicros: number;
  linkType: number;
  data: Buffer;
  originalLength: number;
}

export class PcapOut {
  private readonly writer: PcapngWriter;
  private readonly hold: FlowHold;
  readonly counts = { packets: 0, duplicates: 0, flowsKept: 0, packetsDropped: 0, flowsIncomplete: 0, callsWithoutPackets: 0, packetsAfterLastCall: 0 };
  /** Per node, when the latest of its reported calls ended (its capture clock, in µs). */
  private readonly lastCallEnd = new Map<string, number>();
  private entriesEnded = false;

  constructor(
    path: string,
    private readonly source: string,
  ) {
    this.writer = new PcapngWriter(path, `kubectl-tap: packets of the reported calls from ${source}`);
    this.hold = new FlowHold({ maxHeldBytes: PENDING_BUDGET_BYTES, maxFlows: MAX_FLOWS }, (flow, ts, linkType, data, length) => this.write(flow, ts, linkType, data, length));
  }

  /** Every decoded packet of a file, in capture order (the engine's packet hook). */
  observe(packet: Packet, frame: Frame): void {
    const key = flowKey(packet.transport, packet.srcIp, packet.srcPort, packet.dstIp, packet.dstPort);
    const flow = this.hold.touch(key, this.source);
    if (this.isDuplicate(flow, packet)) return void (this.counts.duplicates += 1);
    const closing = packet.transport === 'tcp' && (packet.flags & (TcpFlag.FIN | TcpFlag.RST)) !== 0;
    this.hold.packet(flow, closing, frame.tsMicros, frame.linkType, frame.data, frame.originalLength);
  }

  /** A packet a node's tapper streamed (already one copy per packet on that node). */
  observeStreamed(node: string, p: StreamedPacket): void {
    // After the entries' streams closed, a kept connection's later packets belong to calls
    // the session never reported: the file ends where the node's reported calls end.
    if (this.entriesEnded && p.tsMicros > (this.lastCallEnd.get(node) ?? -Infinity) + AFTER_LAST_CALL_SLACK_MICROS) {
      this.counts.packetsAfterLastCall += 1;
      return;
    }
    const flow = this.hold.touch(`${node}\u0000${p.flow}`, node);
    this.hold.packet(flow, p.closing, p.tsMicros, p.linkType, p.data, p.originalLength);
  }

  /** A reported entry: its connection's packets are kept (live: those of the node that reported it). */
  add(entry: Entry): void {
    const key = entryFlowKey(entry);
    if (entry.node === undefined) this.hold.keep(key, this.source);
    else {
      this.hold.keep(`${entry.node}\u0000${key}`, entry.node);
      const end = entryMicros(entry) + Math.ceil((entry.elapsedMs ?? 0) * 1000);
      if (end > (this.lastCallEnd.get(entry.node) ?? -Infinity)) this.lastCallEnd.set(entry.node, end);
    }
  }

  /**
   * A live session's entries stopped (its end): the packets still streaming in are written
   * only up to each node's last reported call, so the file holds no call the session did not report.
   */
  endOfEntries(): void {
    this.entriesEnded = true;
  }

  close(): void {
    Object.assign(this.counts, this.hold.counts, { callsWithoutPackets: this.hold.callsWithoutPackets() });
    this.hold.close();
    this.writer.close();
  }

  private write(flow: HeldFlow, tsMicros: number, linkType: number, data: Buffer, originalLength: number): void {
    this.writer.writePacket(this.writer.interfaceFor(flow.source, linkType), tsMicros, data, originalLength);
    this.counts.packets += 1;
  }

  /** Same direction, sequence numbers, flags and first payload bytes, within DUPLICATE_WINDOW_MICROS. */
  private isDuplicate(flow: HeldFlow, p: Packet): boolean {
    const signature = `${p.srcIp}|${p.srcPort}|${p.seq}|${p.ack}|${p.flags}|${p.payload.length}|${p.payload.subarray(0, 16).toString('hex')}`;
    const seen = flow.recent.some((r) => r.signature === signature && p.tsMicros - r.tsMicros <= DUPLICATE_WINDOW_MICROS);
    if (!seen) {
      flow.recent.push({ signature, tsMicros: p.tsMicros });
      if (flow.recent.length > RECENT_SIGNATURES) flow.recent.shift();
    }
    return seen;
  }
}

