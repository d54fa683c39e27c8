// From the engine to every open /packets stream. The engine's packet hook hands over every
// packet that passed the node's gates (one copy per packet, the pre-DNAT leg kept out), so
// the streams carry exactly the packets the engine dissected; each stream holds those of
// its session's local targets. When the engine reports an entry, the same placement as the
// /entries hub (src/node/ownership.ts) decides per session: reported here, the flow's
// packets go out; owned by another node, they are let go (that node's stream carries them).

import type { ServerResponse } from 'node:http';
import type { Frame } from '../src/capture/frame.js';
import { TcpFlag, type Packet } from '../src/decode/packet.js';
import type { Entry } from '../src/entry.js';
import type { MemoryBudget } from '../src/memory/budget.js';
import { placeEntry } from '../src/node/ownership.js';
import type { TargetRegistry } from '../src/node/targets.js';
import { entryFlowKey, flowKey, type FlowHoldLimits } from '../src/sink/flow-hold.js';
import type { ConsumerLimits } from './consumer.js';
import { PacketStream } from './packet-stream.js';

export class PacketHub {
  private readonly streams = new Set<PacketStream>();
  private readonly holdLimits: FlowHoldLimits;

  constructor(
    private readonly nodeName: string,
    private readonly targets: TargetRegistry,
    private readonly memory: MemoryBudget,
    /** File source: every packet of the file concerns every session (it is the capture). */
    private readonly reportUntargeted: boolean,
  ) {
    // A quarter of the engine's budget per stream at most: a stream's held packets never
    // crowd out the engine's own buffers (which the budget sheds by size across kinds).
    this.holdLimits = { maxHeldBytes: Math.floor(memory.limit / 4), maxFlows: 20_000 };
  }

  get open(): readonly PacketStream[] {
    return [...this.streams];
  }

  add(session: string, res: ServerResponse, limits: ConsumerLimits): PacketStream {
    const stream = new PacketStream(session, res, limits, this.holdLimits, this.memory, (s) => this.streams.delete(s));
    this.streams.add(stream);
    return stream;
  }

  /** The engine's packet hook: every packet it dissects, with its frame. */
  observe(packet: Packet, frame: Frame): void {
    if (this.streams.size === 0) return;
    const key = flowKey(packet.transport, packet.srcIp, packet.srcPort, packet.dstIp, packet.dstPort);
    const closing = packet.transport === 'tcp' && (packet.flags & (TcpFlag.FIN | TcpFlag.RST)) !== 0;
    for (const stream of this.streams) {
      if (this.concerns(stream.session, packet)) stream.observe(key, closing, frame);
    }
  }

  /** An entry the engine made: whose stream carries its connection's packets. */
  reported(entry: Entry): void {
    if (this.streams.size === 0) return;
    const key = entryFlowKey(entry);
    for (const stream of this.streams) {
      const placement = placeEntry(entry, this.targets.session(stream.session), this.nodeName, this.reportUntargeted);
      if (placement.kind === 'report') stream.reported(key);
      else if (placement.kind === 'otherNode') stream.notOurs(key);
    }
  }

  /** Resolves once no open stream is behind (a file played fast waits for them). */
  async caughtUp(): Promise<void> {
    for (let s = [...this.streams].find((x) => x.consumer.behind); s; s = [...this.streams].find((x) => x.consumer.behind)) await s.consumer.whenCaughtUp();
  }

  /**
   * Held for a session when an end is one of its target pods on this node. Before the
   * session's first PUT /targets everything is held (bounded): the CLI opens this stream
   * first, so that the packets from the targets' first moment are there.
   */
  private concerns(sessionId: string, packet: Packet): boolean {
    if (this.reportUntargeted) return true;
    const session = this.targets.session(sessionId);
    if (session === undefined) return true;
    return session.podsByIp.get(packet.srcIp)?.node === this.nodeName || session.podsByIp.get(packet.dstIp)?.node === this.nodeName;
  }
}
