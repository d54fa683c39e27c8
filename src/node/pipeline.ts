// A node's engine: the same Engine as `kubectl tap read`, behind the two node-level gates
// (one copy of each packet, the pre-DNAT leg kept out), with each entry handed on together
// with the Service address its client dialled.

import type { Frame } from '../capture/frame.js';
import { Engine } from '../engine.js';
import type { Entry } from '../entry.js';
import type { EngineOptions } from '../protocols/types.js';
import { DnatTracker, type Dialed } from './dnat.js';
import { PacketDedup } from './packet-dedup.js';
import type { TargetService } from './targets.js';

export class NodePipeline {
  readonly engine: Engine;
  readonly dedup: PacketDedup;
  readonly dnat: DnatTracker;

  constructor(options: EngineOptions, onEntry: (entry: Entry, dialed: Dialed | null) => void) {
    this.engine = new Engine(options, (entry) => onEntry(entry, this.dnat.dialedFor(entry)));
    this.dedup = new PacketDedup(this.engine.stats);
    this.dnat = new DnatTracker(this.engine.stats);
    this.engine.packetGate = (packet) => this.dedup.firstCopy(packet) && this.dnat.keep(packet);
  }

  setServices(byIp: Map<string, TargetService>): void {
    this.dnat.setServices(byIp);
  }

  handleFrame(frame: Frame): void {
    this.engine.handleFrame(frame);
  }

  /** Wall-clock time for a live source, so idle connections end without new packets. */
  tick(nowMicros: number): void {
    this.engine.tick(nowMicros);
  }

  finish(): void {
    this.engine.finish();
  }
}
