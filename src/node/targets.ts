// What the CLI asked a tapper to tap, per session (docs/tapper-api.md, PUT /targets): the
// target pods on every node (this node captures its own, the rest decide ownership) and the
// Services with their ClusterIPs (the pre-DNAT leg). Sessions not renewed within their ttl
// are dropped, so a CLI that died stops costing capture.

import { UsageError } from '../errors.js';

export interface TargetPod {
  ip: string;
  uid: string;
  namespace: string;
  name: string;
  node: string;
  hostNetwork: boolean;
  sidecar: string | null;
}

export interface ServicePort {
  port: number;
  targetPort: number;
  protocol: string;
}

export interface TargetService {
  namespace: string;
  name: string;
  clusterIPs: string[];
  ports: ServicePort[];
  endpoints: string[];
}

export interface SessionTargets {
  ttlSeconds: number;
  pods: TargetPod[];
  services: TargetService[];
}

/** One session's targets, indexed for the per-entry questions. */
export class SessionView {
  readonly podsByIp = new Map<string, TargetPod>();
  readonly servicesByIp = new Map<string, TargetService>();

  constructor(
    readonly id: string,
    readonly targets: SessionTargets,
    public expiresAtMs: number,
  ) {
    for (const pod of targets.pods) this.podsByIp.set(pod.ip, pod);
    for (const svc of targets.services) for (const ip of svc.clusterIPs) this.servicesByIp.set(ip, svc);
  }
}

export const DEFAULT_TTL_SECONDS = 120;
/** Bounds on one PUT: a session is at most this many pods and Services. */
const MAX_PODS = 50_000;
const MAX_SERVICES = 20_000;

export class TargetRegistry {
  private readonly sessions = new Map<string, SessionView>();
  private readonly listeners: (() => void)[] = [];

  constructor(readonly nodeName: string) {}

  /** Called after any change of the captured set (put, delete, expiry). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  put(sessionId: string, targets: SessionTargets, nowMs = Date.now()): void {
    this.sessions.set(sessionId, new SessionView(sessionId, targets, nowMs + targets.ttlSeconds * 1000));
    this.changed();
  }

  delete(sessionId: string): boolean {
    const had = this.sessions.delete(sessionId);
    if (had) this.changed();
    return had;
  }

  session(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId);
  }

  get sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Drops sessions past their ttl; returns their ids. */
  expire(nowMs = Date.now()): string[] {
    const gone = [...this.sessions.values()].filter((s) => s.expiresAtMs <= nowMs).map((s) => s.id);
    for (const id of gone) this.sessions.delete(id);
    if (gone.length > 0) this.changed();
    return gone;
  }

  /** IPs to capture on this node: every session's target pods whose node is this one. */
  localPodIps(): Set<string> {
    const ips = new Set<string>();
    for (const s of this.sessions.values()) for (const pod of s.targets.pods) if (pod.node === this.nodeName) ips.add(pod.ip);
    return ips;
  }

  /** Every session's Service ClusterIPs (the pre-DNAT destination of a call). */
  serviceIps(): Map<string, TargetService> {
    const ips = new Map<string, TargetService>();
    for (const s of this.sessions.values()) for (const [ip, svc] of s.servicesByIp) ips.set(ip, svc);
    return ips;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Checks a PUT /targets body; a UsageError names the first thing wrong. */
export function parseTargets(body: unknown): SessionTargets {
  const obj = asObject(body, 'the body');
  const ttl = obj.ttl === undefined ? DEFAULT_TTL_SECONDS : obj.ttl;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw new UsageError('ttl must be a positive number of seconds');
  const pods = asArray(obj.pods ?? [], 'pods', MAX_PODS).map((p, i) => parsePod(p, `pods[${i}]`));
  const services = asArray(obj.services ?? [], 'services', MAX_SERVICES).map((s, i) => parseService(s, `services[${i}]`));
  return { ttlSeconds: ttl, pods, services };
}

function parsePod(value: unknown, where: string): TargetPod {
  const p = asObject(value, where);
  const sidecar = p.sidecar ?? null;
  if (sidecar !== null && typeof sidecar !== 'string') throw new UsageError(`${where}.sidecar must be null or a string`);
  return {
    ip: ipString(p.ip, `${where}.ip`),
    uid: optionalString(p.uid, `${where}.uid`),
    namespace: optionalString(p.namespace, `${where}.namespace`),
    name: optionalString(p.name, `${where}.name`),
    node: requiredString(p.node, `${where}.node`),
    hostNetwork: p.hostNetwork === true,
    sidecar,
  };
}

function parseService(value: unknown, where: string): TargetService {
  const s = asObject(value, where);
  return {
    namespace: optionalString(s.namespace, `${where}.namespace`),
    name: optionalString(s.name, `${where}.name`),
    clusterIPs: asArray(s.clusterIPs ?? [], `${where}.clusterIPs`, 2).map((ip, i) => ipString(ip, `${where}.clusterIPs[${i}]`)),
    ports: asArray(s.ports ?? [], `${where}.ports`, 1000).map((port, i) => {
      const p = asObject(port, `${where}.ports[${i}]`);
      const number = portNumber(p.port, `${where}.ports[${i}].port`);
      return {
        port: number,
        targetPort: p.targetPort === undefined ? number : portNumber(p.targetPort, `${where}.ports[${i}].targetPort`),
        protocol: typeof p.protocol === 'string' ? p.protocol.toUpperCase() : 'TCP',
      };
    }),
    endpoints: asArray(s.endpoints ?? [], `${where}.endpoints`, MAX_PODS).map((ip, i) => ipString(ip, `${where}.endpoints[${i}]`)),
  };
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function asArray(value: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new UsageError(`${where} must be an array`);
  if (value.length > max) throw new UsageError(`${where} has ${value.length} items, more than ${max}`);
  return value;
}

function requiredString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${where} must be a non-empty string`);
  return value;
}

function optionalString(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new UsageError(`${where} must be a string`);
  return value;
}

/** Dotted IPv4 or IPv6 text only: these go into a BPF expression. */
function ipString(value: unknown, where: string): string {
  if (typeof value !== 'string' || !(IPV4.test(value) || (value.includes(':') && IPV6_CHARS.test(value)))) {
    throw new UsageError(`${where} must be an IP address`);
  }
  return value.toLowerCase();
}

function portNumber(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) throw new UsageError(`${where} must be a port number`);
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]{2,45}$/;
