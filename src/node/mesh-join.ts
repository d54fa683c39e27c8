// Mesh capture's join of the two legs of one call (docs/mesh.md). Inside a meshed pod the
// app's plaintext runs over the pod's loopback, 127.0.0.1 on both ends; on the node the same
// call is the mTLS connection the sidecar terminated. This module
//   - gives loopback packets the pod's IP on both ends before the engine sees them, so the
//     loopback connections of two pods never meet in one connection table;
//   - remembers, per node-side TLS connection into an entered pod, when its client sent data;
//   - names a plaintext call's caller: the TLS connection into the same pod whose client data
//     arrived last before the plaintext request (the sidecar forwards what it decrypts; the
//     connection it matched before is kept while it stays within a few ms of the best);
//   - folds the TLS leg: a TLS entry into an entered pod is held, and dropped when its
//     connection fed a plaintext call (matched, or client data followed by a loopback request
//     within FORWARD_MICROS), so each call is reported once, in plaintext.
// Held entries wait a short wall-clock time: the node's and the pod's capture handles deliver
// independently (each batches up to the capture wait), so the other leg may come in later.
import { TcpFlag, type Packet } from '../decode/packet.js';
import type { Entry, Endpoint, MeshInfo } from '../entry.js';
import type { Stats } from '../stats.js';
import type { Dialed } from './dnat.js';

export interface MeshPod {
  ip: string;
  namespace: string;
  name: string;
  sidecar: string;
}

type Publish = (entry: Entry, dialed: Dialed | null) => void;

/** A plaintext call waits this long for the node-side data that named its caller. */
export const JOIN_DELAY_MS = 300;
/** A TLS entry into an entered pod waits this long for its plaintext call to show up. */
export const TLS_HOLD_MS = 3000;
/** The sidecar's data fed the caller within this much capture time (the last data before the request). */
const CALLER_WINDOW_MICROS = 1_000_000;
/** A connection already matched stays matched unless another's data came this much later. */
const STICKY_MICROS = 5_000;
/** Client data followed by a loopback request this soon was forwarded into the pod. */
const FORWARD_MICROS = 50_000;
const DATA_TIMES_KEPT = 32;
const MAX_CONNECTIONS = 8192;
const MAX_PENDING = 20_000;
const IDLE_MICROS = 120_000_000;

interface TlsConn {
  key: string;
  remote: Endpoint;
  pod: Endpoint;
  /** From a SYN: true when the pod accepted it; null when the capture joined later. */
  podIsServer: boolean | null;
  /** Capture times of the client's data segments, oldest first, at most DATA_TIMES_KEPT. */
  dataTimes: number[];
  lastSeen: number;
  /** The loopback connection matched last, by key. */
  boundTo: string | null;
  folded: boolean;
}

interface LoopConn {
  key: string;
  podIp: string;
  /** The loopback addresses as captured, per port (127.0.0.1, or 127.0.0.6 and the pod IP under Istio's inbound passthrough). */
  original: Map<number, string>;
  serverPort: number | null;
  /** Capture times of request data (towards the server port). */
  requestTimes: number[];
  tls: string | null;
  lastSeen: number;
}

interface Pending {
  kind: 'plain' | 'tls';
  entry: Entry;
  dialed: Dialed | null;
  pod: MeshPod;
  releaseAtMs: number;
}

export class MeshJoin {
  /** The entered pod whose loopback frame is going through the engine right now. */
  current: MeshPod | null = null;
  private readonly pods = new Map<string, MeshPod>();
  private readonly tls = new Map<string, TlsConn>();
  private readonly loops = new Map<string, LoopConn>();
  private pending: Pending[] = [];
  private lastEviction = 0;

  constructor(private readonly stats: Stats) {}

  enter(pod: MeshPod): void {
    this.pods.set(pod.ip, pod);
  }

  leave(ip: string): void {
    this.pods.delete(ip);
  }

  get enteredCount(): number {
    return this.pods.size;
  }

  /** The engine's packet gate, first: rewrites loopback packets, remembers node-side TLS data. Never drops. */
  observe(p: Packet): boolean {
    if (p.transport !== 'tcp') return true;
    const inPod = this.current;
    if (inPod !== null) {
      this.observeLoopback(inPod, p);
      return true;
    }
    if (this.pods.size === 0) return true;
    const pod = this.pods.get(p.dstIp) ?? this.pods.get(p.srcIp);
    if (pod === undefined || p.srcIp === p.dstIp) return true;
    const toPod = p.dstIp === pod.ip;
    const remote = toPod ? { ip: p.srcIp, port: p.srcPort } : { ip: p.dstIp, port: p.dstPort };
    const podEnd = toPod ? { ip: p.dstIp, port: p.dstPort } : { ip: p.srcIp, port: p.srcPort };
    const key = tlsKey(remote, podEnd);
    let c = this.tls.get(key);
    if (c === undefined) {
      c = { key, remote, pod: podEnd, podIsServer: null, dataTimes: [], lastSeen: p.tsMicros, boundTo: null, folded: false };
      this.remember(this.tls, key, c);
    }
    if ((p.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) c.podIsServer = toPod;
    c.lastSeen = p.tsMicros;
    if (toPod && p.payload.length > 0) pushBounded(c.dataTimes, p.tsMicros);
    return true;
  }

  /** Entries from the engine: plaintext from a pod's loopback and TLS into an entered pod wait; the rest go on. */
  entry(entry: Entry, dialed: Dialed | null, publish: Publish, nowMs = Date.now()): void {
    const pod = this.pods.get(entry.dst.ip);
    if (pod !== undefined && entry.src.ip === entry.dst.ip && this.loops.has(loopKey(pod.ip, entry.src.port, entry.dst.port))) {
      this.hold({ kind: 'plain', entry, dialed, pod, releaseAtMs: nowMs + JOIN_DELAY_MS }, publish);
      return;
    }
    const tlsPod = entry.protocol === 'tls' ? (pod ?? this.pods.get(entry.src.ip)) : undefined;
    if (tlsPod !== undefined) {
      this.hold({ kind: 'tls', entry, dialed, pod: tlsPod, releaseAtMs: nowMs + TLS_HOLD_MS }, publish);
      return;
    }
    publish(entry, dialed);
  }

  /** Releases what waited long enough (all of it at the end of capture), plaintext first. */
  flush(publish: Publish, nowMs = Date.now(), all = false): void {
    const due = (p: Pending) => all || p.releaseAtMs <= nowMs;
    const ready = this.pending.filter(due);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((p) => !due(p));
    for (const p of ready) if (p.kind === 'plain') publish(this.joined(p), p.dialed);
    for (const p of ready) {
      if (p.kind !== 'tls') continue;
      if (this.fedPlaintext(p.entry, p.pod)) this.stats.add('mesh.tlsFolded');
      else publish(p.entry, p.dialed);
    }
    this.evictIdle();
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private hold(p: Pending, publish: Publish): void {
    if (this.pending.length >= MAX_PENDING) {
      // Bounded: the oldest goes out now, as it would have later (a TLS one unfolded).
      const oldest = this.pending.shift()!;
      this.stats.add('mesh.pendingOverflow');
      publish(oldest.kind === 'plain' ? this.joined(oldest) : oldest.entry, oldest.dialed);
    }
    this.pending.push(p);
  }

  private observeLoopback(pod: MeshPod, p: Packet): void {
    const key = loopKey(pod.ip, p.srcPort, p.dstPort);
    let l = this.loops.get(key);
    if (l === undefined) {
      l = { key, podIp: pod.ip, original: new Map(), serverPort: null, requestTimes: [], tls: null, lastSeen: p.tsMicros };
      this.remember(this.loops, key, l);
    }
    l.original.set(p.srcPort, p.srcIp);
    l.original.set(p.dstPort, p.dstIp);
    if ((p.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) l.serverPort = p.dstPort;
    l.lastSeen = p.tsMicros;
    if (p.payload.length > 0 && p.dstPort === (l.serverPort ?? Math.min(p.srcPort, p.dstPort))) pushBounded(l.requestTimes, p.tsMicros);
    p.srcIp = pod.ip;
    p.dstIp = pod.ip;
  }

  /** The plaintext entry with both ends named: the pod as the callee, the matched TLS client as the caller. */
  private joined(p: Pending): Entry {
    const e = p.entry;
    const l = this.loops.get(loopKey(p.pod.ip, e.src.port, e.dst.port));
    const loopback = {
      src: { ip: l?.original.get(e.src.port) ?? '127.0.0.1', port: e.src.port },
      dst: { ip: l?.original.get(e.dst.port) ?? '127.0.0.1', port: e.dst.port },
    };
    const caller = l ? this.matchCaller(l, entryMicros(e)) : null;
    const mesh: MeshInfo = { sidecar: p.pod.sidecar, loopback };
    if (caller !== null) {
      mesh.tls = { src: { ...caller.remote }, dst: { ...caller.pod } };
      this.stats.add('mesh.callerMatched');
    } else {
      this.stats.add('mesh.callerUnknown');
    }
    return { ...e, src: caller ? { ...caller.remote } : loopback.src, dst: { ip: p.pod.ip, port: e.dst.port }, mesh };
  }

  private matchCaller(l: LoopConn, t: number): TlsConn | null {
    let best: TlsConn | null = null;
    let bestAt = -Infinity;
    for (const c of this.tls.values()) {
      if (c.pod.ip !== l.podIp || !inbound(c)) continue;
      if (c.boundTo !== null && c.boundTo !== l.key && this.loops.has(c.boundTo) && c.key !== l.tls) {
        // Feeding another live loopback connection: a 1:1 proxy's upstream is that one.
        const other = this.loops.get(c.boundTo)!;
        if (other.tls === c.key && t - other.lastSeen < CALLER_WINDOW_MICROS) continue;
      }
      const at = latestAtOrBefore(c.dataTimes, t);
      if (at !== null && at >= t - CALLER_WINDOW_MICROS && at > bestAt) {
        best = c;
        bestAt = at;
      }
    }
    const bound = l.tls === null ? undefined : this.tls.get(l.tls);
    if (bound !== undefined) {
      const at = latestAtOrBefore(bound.dataTimes, t);
      if (at !== null && at >= t - CALLER_WINDOW_MICROS && at >= bestAt - STICKY_MICROS) best = bound;
    }
    if (best !== null) {
      l.tls = best.key;
      best.boundTo = l.key;
      best.folded = true;
    }
    return best;
  }

  /** Whether the TLS entry's connection fed plaintext calls of the pod (so it is not a call of its own). */
  private fedPlaintext(e: Entry, pod: MeshPod): boolean {
    const podEnd = e.dst.ip === pod.ip ? e.dst : e.src;
    const remote = podEnd === e.dst ? e.src : e.dst;
    const c = this.tls.get(tlsKey(remote, podEnd));
    if (c === undefined) return false;
    if (c.folded) return true;
    for (const l of this.loops.values()) {
      if (l.podIp !== pod.ip) continue;
      for (const s of c.dataTimes) if (l.requestTimes.some((r) => r > s && r - s <= FORWARD_MICROS)) return (c.folded = true);
    }
    return false;
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= MAX_CONNECTIONS) {
      map.delete(map.keys().next().value!);
      this.stats.add('mesh.connectionsForgottenEarly');
    }
    map.set(key, value);
  }

  private evictIdle(): void {
    let newest = 0;
    for (const c of this.tls.values()) newest = Math.max(newest, c.lastSeen);
    for (const l of this.loops.values()) newest = Math.max(newest, l.lastSeen);
    if (newest - this.lastEviction < 5_000_000) return;
    this.lastEviction = newest;
    for (const [k, c] of this.tls) if (newest - c.lastSeen > IDLE_MICROS) this.tls.delete(k);
    for (const [k, l] of this.loops) if (newest - l.lastSeen > IDLE_MICROS) this.loops.delete(k);
  }
}

function tlsKey(remote: Endpoint, pod: Endpoint): string {
  return `${remote.ip}|${remote.port}|${pod.ip}|${pod.port}`;
}

function loopKey(podIp: string, a: number, b: number): string {
  return a < b ? `${podIp}|${a}|${b}` : `${podIp}|${b}|${a}`;
}

/** The pod accepted the connection: from its SYN, else the engine's rule (the lower port is the server's). */
function inbound(c: TlsConn): boolean {
  return c.podIsServer ?? c.pod.port < c.remote.port;
}

function pushBounded(times: number[], t: number): void {
  if (times.length >= DATA_TIMES_KEPT) times.shift();
  times.push(t);
}

function latestAtOrBefore(times: number[], t: number): number | null {
  for (let i = times.length - 1; i >= 0; i--) if (times[i]! <= t) return times[i]!;
  return null;
}

/** The entry's start in capture microseconds, from its timestamp (2026-12-01T22:35:08.123456Z). */
export function entryMicros(e: Entry): number {
  return Date.parse(`${e.timestamp.slice(0, 19)}Z`) * 1000 + Number(e.timestamp.slice(20, 26));
}
