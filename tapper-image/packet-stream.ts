// One GET /packets stream: the packets of the calls this node reports to the stream's
// session, for `kubectl tap --pcap-out`. A packet waits, held by connection (FlowHold,
// charged to the engine's memory budget as packets.held), until a call of its connection is
// reported to the session; then its connection's packets go out, from the first held to the
// last. On the wire they go through the same Consumer as /entries: one bounded queue, drops
// counted and marked where they happened, heartbeats, batched writes.

import type { ServerResponse } from 'node:http';
import type { Frame } from '../src/capture/frame.js';
import type { MemoryBudget } from '../src/memory/budget.js';
import { FlowHold, type FlowHoldLimits } from '../src/sink/flow-hold.js';
import { Consumer, type ConsumerLimits } from './consumer.js';

export class PacketStream {
  readonly consumer: Consumer;
  private readonly hold: FlowHold;

  constructor(
    readonly session: string,
    res: ServerResponse,
    limits: ConsumerLimits,
    holdLimits: FlowHoldLimits,
    memory: MemoryBudget,
    onClose: (s: PacketStream) => void,
  ) {
    const account = memory.account('packets.held', (want) => this.hold.shed(want));
    this.hold = new FlowHold(holdLimits, (flow, tsMicros, linkType, data, originalLength) => this.consumer.offer(packetLine(flow.key, tsMicros, linkType, data, originalLength, flow.closed), null), account);
    this.consumer = new Consumer(session, res, undefined, limits, () => {
      this.hold.close();
      onClose(this);
    });
  }

  /** A packet of one of the session's local targets (its bytes are valid during the call only). */
  observe(key: string, closing: boolean, frame: Frame): void {
    const flow = this.hold.touch(key, this.session);
    this.hold.packet(flow, closing, frame.tsMicros, frame.linkType, frame.data, frame.originalLength);
  }

  /** A call of the flow was reported to this session: its packets go out. */
  reported(key: string): void {
    this.hold.keep(key, this.session);
  }

  /** Another node reports the calls of this flow: nothing of it is held. */
  notOurs(key: string): void {
    this.hold.forget(key);
  }

  toJSON(): Record<string, unknown> {
    return { ...this.consumer.toJSON(), heldBytes: this.hold.bytesHeld, heldFlows: this.hold.flowCount, ...this.hold.counts };
  }
}

/** One packet a line: docs/tapper-api.md, "The packet stream". */
export function packetLine(flow: string, tsMicros: number, linkType: number, data: Buffer, originalLength: number, closing: boolean): string {
  return `{"flow":${JSON.stringify(flow)},"ts":${tsMicros},"linkType":${linkType},"length":${originalLength}${closing ? ',"closing":true' : ''},"data":"${data.toString('base64')}"}`;
}
