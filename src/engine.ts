// The engine: frames in, entries out. One instance per capture source (a file, a live
// interface); it runs the same in `kubectl tap read`, in the tapper and in the tests.
// frames -> PacketDecoder -> TcpAssembler / UdpFlows -> dissectors -> Call -> Entry.

import type { Frame } from './capture/frame.js';
import { PacketDecoder } from './decode/decoder.js';
import type { Packet } from './decode/packet.js';
import { makeEntry, type Call, type Entry, type ProtocolName } from './entry.js';
import { chargeableBytes, DEFAULT_MEMORY_BUDGET, MemoryBudget } from './memory/budget.js';
import { openConnection } from './protocols/dispatch.js';
import type { EngineOptions } from './protocols/types.js';
import { UdpFlows } from './protocols/udp-flows.js';
import { DEFAULT_REDACTED_HEADERS, redactEntry } from './redact.js';
import { Stats } from './stats.js';
import { TcpAssembler, type TcpLimits } from './tcp/assembler.js';

export const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * The counter of each protocol's entries, named once: a name built per entry
 * (`entries.${protocol}`) is a new string the counters' Map must hash each time, 3% of the
 * CPU on the Redis bench capture.
 */
const ENTRY_COUNTERS: Record<ProtocolName, string> = {
  http: 'entries.http', grpc: 'entries.grpc', redis: 'entries.redis', kafka: 'entries.kafka',
  amqp: 'entries.amqp', dns: 'entries.dns', tls: 'entries.tls',
};

export function engineOptions(partial: Partial<EngineOptions> = {}): EngineOptions {
  return {
    maxBody: DEFAULT_MAX_BODY,
    maxMessages: 100,
    redact: true,
    redactHeaders: new Set(DEFAULT_REDACTED_HEADERS),
    protoPaths: [],
    memoryBudget: DEFAULT_MEMORY_BUDGET,
    ...partial,
  };
}

export class Engine {
  readonly stats = new Stats();
  /** Everything this engine holds that grows with its input is charged here. */
  readonly memory: MemoryBudget;
  private readonly decoder: PacketDecoder;
  private readonly tcp: TcpAssembler;
  private readonly udp: UdpFlows;
  private lastTs = 0;
  /**
   * Sees every decoded packet before reassembly and may keep it out (false). The tapper uses
   * it for one copy per packet on a node (several interfaces, overlapping capture handles)
   * and to take the pre-DNAT copy of a call out while remembering what the client dialled.
   */
  packetGate: ((packet: Packet) => boolean) | null = null;
  /**
   * Sees every decoded packet the gate let in, with its frame, before the engine does
   * (--pcap-out keeps the packets of reported calls). The frame's bytes are valid only during the call.
   */
  packetObserver: ((packet: Packet, frame: Frame) => void) | null = null;

  constructor(
    readonly options: EngineOptions,
    private readonly onEntry: (entry: Entry) => void,
    tcpLimits: Partial<TcpLimits> = {},
  ) {
    const emit = (call: Call, client: { ip: string; port: number }, server: { ip: string; port: number }) =>
      this.emit(call, client, server);
    this.memory = new MemoryBudget(chargeableBytes(options.memoryBudget), this.stats);
    this.decoder = new PacketDecoder(this.stats, {}, this.memory);
    this.tcp = new TcpAssembler((ends) => openConnection(ends, options, this.stats, emit, this.memory), this.stats, tcpLimits, this.memory);
    this.udp = new UdpFlows(options, this.stats, emit, {}, this.memory);
  }

  handleFrame(frame: Frame): void {
    this.stats.add('engine.frames');
    const packet = this.decoder.decode(frame);
    if (!packet) return;
    if (this.packetGate !== null && !this.packetGate(packet)) return;
    if (packet.tsMicros > this.lastTs) this.lastTs = packet.tsMicros;
    if (this.packetObserver) this.packetObserver(packet, frame);
    if (packet.transport === 'tcp') this.tcp.push(packet);
    else this.udp.push(packet);
  }

  /**
   * A live source's clock: connections and flows idle since before `nowMicros` minus their
   * timeout are ended (pending calls emitted) even when no packet arrives to say the time.
   */
  tick(nowMicros: number): void {
    this.tcp.expireIdle(nowMicros);
    this.udp.expireIdle(nowMicros);
  }

  /** Connections and UDP flows held right now. */
  get liveConnections(): { tcp: number; udp: number } {
    return { tcp: this.tcp.connectionCount, udp: this.udp.flowCount };
  }

  /** End of input: every open connection and flow is flushed (pending requests emitted). */
  finish(): void {
    this.tcp.closeAll(this.lastTs);
    this.udp.closeAll(this.lastTs);
  }

  private emit(call: Call, client: { ip: string; port: number }, server: { ip: string; port: number }): void {
    const entry = makeEntry(call, client, server);
    if (this.options.redact) redactEntry(entry, this.options.redactHeaders);
    this.stats.add(ENTRY_COUNTERS[entry.protocol]);
    this.onEntry(entry);
  }
}
