// A node's engine: the same Engine as `kubectl tap read`, behind the two node-level gates
// (one copy of each packet, the pre-DNAT leg kept out), with each entry handed on together
// with the Service address its client dialled. Mesh capture's frames (a pod's loopback) go
// through the same engine, joined to the node-side mTLS leg by src/node/mesh-join.ts.

import type { Frame } from '../capture/frame.js';
import { Engine } from '../engine.js';
import type { Entry } from '../entry.js';
import type { EngineOptions } from '../protocols/types.js';
import { DnatTracker, type Dialed } from './dnat.js';
import { MeshJoin, type MeshPod } from './mesh-join.js';
import { PacketDedup } from './packet-dedup.js';
import type { TargetService } from './targets.js';

export class NodePipeline {
  readonly engine: Engine;
  readonly dedup: PacketDedup;
  readonly dnat: DnatTracker;
  readonly mesh: MeshJoin;

  constructor(options: EngineOptions, private readonly onEntry: (entry: Entry, dialed: Dialed | null) => void) {
    this.engine = new Engine(options, (entry) => this.mesh.entry(entry, this.dnat.dialedFor(entry), onEntry));
    this.dedup = new PacketDedup(this.engine.stats);
    this.dnat = new DnatTracker(this.engine.stats);
    this.mesh = new MeshJoin(this.engine.stats);
    // The mesh join first: it gives a pod's loopback packets the pod's address.
    this.engine.packetGate = (packet) => this.mesh.observe(packet) && this.dedup.firstCopy(packet) && this.dnat.keep(packet);
  }

  /** A frame captured on an entered pod's loopback. */
  handleLoopbackFrame(pod: MeshPod, frame: Frame): void {
    this.mesh.current = pod;
    try {
      this.engine.handleFrame(frame);
    } finally {
      this.mesh.current = null;
    }
  }

  /** Releases the entries the mesh join held long enough. */
  flushMesh(nowMs = Date.now()): void {
    this.mesh.flush(this.onEntry, nowMs);
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
    this.mesh.flush(this.onEntry, Date.now(), true);
  }
}
