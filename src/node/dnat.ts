// The pre-DNAT copy of a call. A client dialling a Service sends to the ClusterIP; on the
// client's node kube-proxy rewrites the destination to an endpoint pod, so the node sees the
// call twice: client -> ClusterIP on the client's veth (before DNAT) and client -> pod after
// it (on the server's veth or the uplink), and the replies likewise. The copy that knows the
// real destination pod is kept: packets to or from a Service IP never reach the engine, and
// what they say (which ClusterIP and port the client's socket dialled) is remembered by
// client address and port, then given to the entries of the post-DNAT copy as
// `capture.dialed`. (Mizu tried to filter this case by address and stored Service IPs in the
// wrong map, so both copies were reported.)
//
// Kept out, not merged: the post-DNAT copy always exists on the client's node, because the
// rewritten packet leaves through some interface; the one exception is an endpoint in the
// node's own network namespace (a hostNetwork server on the client's node), whose calls
// through a ClusterIP are then not seen (counted as node.preDnatPackets only).

import type { Packet } from '../decode/packet.js';
import type { Entry } from '../entry.js';
import type { Stats } from '../stats.js';
import type { TargetService } from './targets.js';

export interface Dialed {
  ip: string;
  port: number;
}

interface Remembered extends Dialed {
  service: TargetService;
  lastSeenMicros: number;
}

/** A client socket's dialled address is forgotten after this much quiet capture time. */
const FORGET_AFTER_MICROS = 15 * 60 * 1_000_000;
const MAX_REMEMBERED = 131_072;
const SWEEP_EVERY_MICROS = 10_000_000;

export class DnatTracker {
  private services = new Map<string, TargetService>();
  private readonly dialed = new Map<string, Remembered>();
  private lastSweep = 0;

  constructor(private readonly stats: Stats) {}

  /** The ClusterIPs of every session's Services (replaced when targets change). */
  setServices(byIp: Map<string, TargetService>): void {
    this.services = byIp;
  }

  /** False for a packet of the pre-DNAT leg (to or from a Service IP and port): keep it out. */
  keep(p: Packet): boolean {
    if (this.services.size === 0) return true;
    const toService = this.services.get(p.dstIp);
    if (toService !== undefined && servesPort(toService, p.dstPort, p.transport)) {
      this.remember(`${p.srcIp}|${p.srcPort}`, { ip: p.dstIp, port: p.dstPort }, toService, p.tsMicros);
      this.stats.add('node.preDnatPackets');
      return false;
    }
    const fromService = this.services.get(p.srcIp);
    if (fromService !== undefined && servesPort(fromService, p.srcPort, p.transport)) {
      this.stats.add('node.preDnatPackets');
      return false;
    }
    return true;
  }

  /** The Service address the entry's client dialled, when it is not the entry's `dst`. */
  dialedFor(entry: Entry): Dialed | null {
    const bySrc = this.dialed.get(`${entry.src.ip}|${entry.src.port}`);
    // A call the server started (a Redis push) has the connection's client as its dst.
    const d = bySrc ?? this.dialed.get(`${entry.dst.ip}|${entry.dst.port}`);
    if (d === undefined) return null;
    const server = d === bySrc ? entry.dst : entry.src;
    if (server.ip === d.ip && server.port === d.port) return null;
    // The same client port may have dialled a Service long ago and something else now.
    const endpointOk = d.service.endpoints.length === 0 || d.service.endpoints.includes(server.ip);
    const portOk = d.service.ports.length === 0 || d.service.ports.some((p) => p.port === d.port && p.targetPort === server.port);
    if (!endpointOk || !portOk) return null;
    return { ip: d.ip, port: d.port };
  }

  get remembered(): number {
    return this.dialed.size;
  }

  private remember(key: string, dialed: Dialed, service: TargetService, ts: number): void {
    const known = this.dialed.get(key);
    if (known !== undefined && known.ip === dialed.ip && known.port === dialed.port) {
      known.lastSeenMicros = ts;
    } else {
      if (known !== undefined) this.dialed.delete(key);
      if (this.dialed.size >= MAX_REMEMBERED) this.forgetOldest();
      this.dialed.set(key, { ...dialed, service, lastSeenMicros: ts });
    }
    if (ts - this.lastSweep > SWEEP_EVERY_MICROS) this.sweep(ts);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, d] of this.dialed) if (now - d.lastSeenMicros > FORGET_AFTER_MICROS) this.dialed.delete(key);
  }

  private forgetOldest(): void {
    const first = this.dialed.keys().next();
    if (first.done) return;
    this.dialed.delete(first.value);
    this.stats.add('node.dialedForgottenCapacity');
  }
}

function servesPort(svc: TargetService, port: number, transport: 'tcp' | 'udp'): boolean {
  const protocol = transport === 'tcp' ? 'TCP' : 'UDP';
  // A Service listed without ports is taken as serving every port.
  return svc.ports.length === 0 || svc.ports.some((p) => p.port === port && p.protocol === protocol);
}
