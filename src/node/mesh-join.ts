// Mesh capture's join of the two legs of one call (docs/mesh.md). Inside a meshed pod the
// app's plaintext runs over the pod's loopback, 127.0.0.1 on both ends; on the node the same
// call is the mTLS connection the sidecar terminated. This module
//   - gives loopback packets the pod's IP on both ends before the engine sees them, so the
//     loopback connections of two pods never meet in one connection table;
//   - remembers, per node-side TLS connection into an entered pod, when its client sent data
//     and how much, and the same of the requests on each loopback connection;
//   - names a plaintext call's caller: the TLS connection into the same pod whose client
//     segment carried the request. The sidecar forwards what it decrypts, so that segment is
//     the request's length plus an AEAD record's fixed overhead (TLS_OVERHEADS), close in
//     time; among equals the nearest in time wins, and the connection matched before is kept;
//   - folds the TLS leg: a TLS entry into an entered pod is held, and dropped when its
//     connection fed a plaintext call (matched, or a segment that fits a loopback request of
//     the pod), so each call is reported once, in plaintext.
// Time alone picks the wrong connection when several send within the same few ms; the length
// tells them apart. Time bounds the candidates (CALLER_WINDOW_MICROS either side) and orders them.
// Held entries wait a short wall-clock time: the node's and the pod's capture handles deliver
// independently (each batches up to the capture wait), so the other leg may come in later.
import { TcpFlag, type Packet } from '../decode/packet.js';
import { entryMicros, type Entry, type Endpoint, type MeshInfo } from '../entry.js';
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
/** The segment that carried a request is within this much capture time of it, either side. */
const CALLER_WINDOW_MICROS = 1_000_000;
/**
 * Bytes a TLS record adds to the plaintext it carries with the AEAD ciphers meshes use:
 * TLS 1.3 22 (header 5, inner content type 1, tag 16), TLS 1.2 GCM 29 (header 5, explicit
 * nonce 8, tag 16), TLS 1.2 ChaCha20-Poly1305 21 (header 5, tag 16).
 */
const TLS_OVERHEADS = [22, 29, 21];
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
  /** The client's data segments (capture time, payload bytes), oldest first, at most DATA_TIMES_KEPT. */
  data: Segment[];
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
  /** Request data segments (towards the server port). */
  requests: Segment[];
  tls: string | null;
  lastSeen: number;
}

interface Segment {
  t: number;
  len: number;
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
  /** Node-side connections by the entered pod's IP, then by key: a match looks at one pod's only. */
  private readonly tls = new Map<string, Map<string, TlsConn>>();
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
    const key = toPod ? tlsKey(p.srcIp, p.srcPort, p.dstIp, p.dstPort) : tlsKey(p.dstIp, p.dstPort, p.srcIp, p.srcPort);
    let conns = this.tls.get(pod.ip);
    if (conns === undefined) this.tls.set(pod.ip, (conns = new Map()));
    let c = conns.get(key);
    if (c === undefined) {
      const remote = toPod ? { ip: p.srcIp, port: p.srcPort } : { ip: p.dstIp, port: p.dstPort };
      const podEnd = toPod ? { ip: p.dstIp, port: p.dstPort } : { ip: p.srcIp, port: p.srcPort };
      c = { key, remote, pod: podEnd, podIsServer: null, data: [], lastSeen: p.tsMicros, boundTo: null, folded: false };
      this.remember(conns, key, c);
    }
    if ((p.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) c.podIsServer = toPod;
    c.lastSeen = p.tsMicros;
    if (toPod && p.payload.length > 0) pushBounded(c.data, { t: p.tsMicros, len: p.payload.length });
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
      l = { key, podIp: pod.ip, original: new Map(), serverPort: null, requests: [], tls: null, lastSeen: p.tsMicros };
      this.remember(this.loops, key, l);
    }
    l.original.set(p.srcPort, p.srcIp);
    l.original.set(p.dstPort, p.dstIp);
    if ((p.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) l.serverPort = p.dstPort;
    l.lastSeen = p.tsMicros;
    if (p.payload.length > 0 && p.dstPort === (l.serverPort ?? Math.min(p.srcPort, p.dstPort))) pushBounded(l.requests, { t: p.tsMicros, len: p.payload.length });
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
    // The request's first segment on the loopback (at its start time), whose length the TLS one fits.
    const request = l.requests.find((r) => r.t >= t) ?? { t, len: -1 };
    let best: TlsConn | null = null;
    let bestScore = Infinity;
    for (const c of this.tls.get(l.podIp)?.values() ?? []) {
      if (!inbound(c)) continue;
      if (c.boundTo !== null && c.boundTo !== l.key && c.key !== l.tls) {
        // Feeding another live loopback connection: a 1:1 proxy's upstream is that one.
        const other = this.loops.get(c.boundTo);
        if (other !== undefined && other.tls === c.key && t - other.lastSeen < CALLER_WINDOW_MICROS) continue;
      }
      const score = fitScore(c.data, request) - (c.key === l.tls ? STICKY_BONUS : 0);
      if (score < bestScore) {
        best = c;
        bestScore = score;
      }
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
    const c = this.tls.get(pod.ip)?.get(tlsKey(remote.ip, remote.port, podEnd.ip, podEnd.port));
    if (c === undefined) return false;
    if (c.folded) return true;
    for (const l of this.loops.values()) {
      if (l.podIp !== pod.ip) continue;
      for (const r of l.requests) if (fitScore(c.data, r) <= CALLER_WINDOW_MICROS) return (c.folded = true);
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
    for (const conns of this.tls.values()) for (const c of conns.values()) newest = Math.max(newest, c.lastSeen);
    for (const l of this.loops.values()) newest = Math.max(newest, l.lastSeen);
    if (newest - this.lastEviction < 5_000_000) return;
    this.lastEviction = newest;
    for (const [ip, conns] of this.tls) {
      for (const [k, c] of conns) if (newest - c.lastSeen > IDLE_MICROS) conns.delete(k);
      if (conns.size === 0) this.tls.delete(ip);
    }
    for (const [k, l] of this.loops) if (newest - l.lastSeen > IDLE_MICROS) this.loops.delete(k);
  }
}

/** A node-side connection of a pod, the remote end first, then the pod's (from packets and from entries alike). */
function tlsKey(remoteIp: string, remotePort: number, podIp: string, podPort: number): string {
  return `${remoteIp}|${remotePort}|${podIp}|${podPort}`;
}

function loopKey(podIp: string, a: number, b: number): string {
  return a < b ? `${podIp}|${a}|${b}` : `${podIp}|${b}|${a}`;
}

/** The pod accepted the connection: from its SYN, else the engine's rule (the lower port is the server's). */
function inbound(c: TlsConn): boolean {
  return c.podIsServer ?? c.pod.port < c.remote.port;
}

function pushBounded(segments: Segment[], segment: Segment): void {
  if (segments.length >= DATA_TIMES_KEPT) segments.shift();
  segments.push(segment);
}

/** A connection matched before wins over an equal fit elsewhere (a few ms of time distance). */
const STICKY_BONUS = 5_000;
/** A segment of the right length beats one of the wrong length at any distance inside the window. */
const WRONG_LENGTH_PENALTY = 10 * CALLER_WINDOW_MICROS;

/**
 * How well a TLS connection's client segments fit a loopback request segment: the capture-time
 * distance of the best one inside the window, plus a penalty when its length is not the
 * request's plus a record overhead; Infinity when none is inside the window.
 */
function fitScore(data: Segment[], request: Segment): number {
  let best = Infinity;
  for (const d of data) {
    const distance = Math.abs(request.t - d.t);
    if (distance > CALLER_WINDOW_MICROS) continue;
    const score = distance + (TLS_OVERHEADS.includes(d.len - request.len) ? 0 : WRONG_LENGTH_PENALTY);
    if (score < best) best = score;
  }
  return best;
}
