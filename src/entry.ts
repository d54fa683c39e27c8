// The Entry: one API call as kubectl-tap prints it, one JSON object a line. Its JSON Schema
// is docs/entry.schema.json and its reference docs/entries.md; change all three together.
// Dissectors produce a Call (what they know); the engine turns it into an Entry by adding
// identity, time and endpoints, so that every protocol's entries look alike.

export type ProtocolName = 'http' | 'grpc' | 'redis' | 'kafka' | 'amqp' | 'dns' | 'tls';

export interface Endpoint {
  ip: string;
  port: number;
  /** Filled in by the cluster name resolver when the address belongs to a known object. */
  name?: string;
  namespace?: string;
  kind?: 'pod' | 'service' | 'node' | 'external';
  /** The pod's name when the endpoint is a pod (as `name`); absent for Services, nodes and outside addresses. */
  pod?: string;
  workload?: string;
  service?: string;
  node?: string;
}

/** What a dissector knows about one call; see makeEntry. */
export interface Call {
  protocol: ProtocolName;
  startMicros: number;
  /** When the response was complete; null when no response was seen. */
  endMicros: number | null;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  summary: string;
  /** Why the call failed at the protocol level (stream reset, connection closed before the reply). */
  error?: string;
  /** Part of the call was lost to a capture gap or an unknown header table. */
  incomplete?: boolean;
  /** The call was initiated by the connection's server side (AMQP basic.deliver, Redis push). */
  fromServer?: boolean;
  /** The capture joined the connection after it began (no handshake, preface or protocol header seen). */
  midstream?: boolean;
}

export interface Entry {
  id: string;
  timestamp: string;
  elapsedMs: number | null;
  protocol: ProtocolName;
  src: Endpoint;
  dst: Endpoint;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  summary: string;
  error?: string;
  incomplete?: boolean;
  /** The capture joined the call's connection after it began: see docs/entries.md. */
  midstream?: true;
  /** Name of the node whose tapper captured the call (cluster mode; set by the tapper). */
  node?: string;
  /** How the tapper saw the call (cluster mode; set by the tapper). */
  capture?: CaptureInfo;
  /** Captured inside a meshed pod, between the app and its sidecar (docs/mesh.md). */
  mesh?: MeshInfo;
}

export interface MeshInfo {
  /** The sidecar's kind as the CLI detected it: istio, linkerd, other (--mesh on). */
  sidecar: string;
  /** The plaintext connection's own ends inside the pod (127.0.0.1 on both, as captured). */
  loopback: { src: Endpoint; dst: Endpoint };
  /** The node-side mTLS connection the caller was matched by; absent when none matched. */
  tls?: { src: Endpoint; dst: Endpoint };
}

export interface CaptureInfo {
  /** Which ends are target pods of the capturing node. */
  local: ('src' | 'dst')[];
  /** What the client dialled when it is not `dst`: a Service's ClusterIP before DNAT. */
  dialed?: { ip: string; port: number };
}

/** Entry ids: a per-process random prefix and a counter, unique across the nodes of one tap. */
const idPrefix = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
let idCounter = 0;

export function nextEntryId(): string {
  idCounter += 1;
  return `${idPrefix}-${idCounter.toString(36).padStart(6, '0')}`;
}

/**
 * The last second a four-digit year can write, 9999-12-31T23:59:59Z. (Microsecond counts
 * this large are beyond 2^53, so a double holds them only to the nearest 32 µs; this one
 * is exact, and rounding cannot carry it into year 10000.)
 */
const MAX_MICROS = 253402300799000000;

/**
 * ISO-8601 UTC with microseconds: 2026-11-26T00:16:23.123456Z. A capture's clock can say
 * anything (a corrupt record, a device without time); out-of-range times are clamped to
 * 1970..9999 so the field keeps its format.
 */
export function isoMicros(tsMicros: number): string {
  if (!(tsMicros >= 0)) tsMicros = 0;
  else if (tsMicros > MAX_MICROS) tsMicros = MAX_MICROS;
  const second = Math.floor(tsMicros / 1_000_000);
  // Entries come in time order, many per second: format "YYYY-MM-DDTHH:MM:SS." once a second.
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const fraction = String(Math.floor(tsMicros - second * 1_000_000));
  return `${cachedPrefix}${'000000'.slice(fraction.length)}${fraction}Z`;
}

/** An entry's start in capture microseconds, from its timestamp: isoMicros read back. */
export function entryMicros(e: Pick<Entry, 'timestamp'>): number {
  return Date.parse(`${e.timestamp.slice(0, 19)}Z`) * 1000 + Number(e.timestamp.slice(20, 26));
}

let cachedSecond = -1;
let cachedPrefix = '';

export function makeEntry(
  call: Call,
  client: { ip: string; port: number },
  server: { ip: string; port: number },
): Entry {
  const entry: Entry = {
    id: nextEntryId(),
    timestamp: isoMicros(call.startMicros),
    elapsedMs:
      call.endMicros === null ? null : Math.round(Math.max(0, call.endMicros - call.startMicros)) / 1000,
    protocol: call.protocol,
    src: call.fromServer ? { ip: server.ip, port: server.port } : { ip: client.ip, port: client.port },
    dst: call.fromServer ? { ip: client.ip, port: client.port } : { ip: server.ip, port: server.port },
    request: call.request,
    response: call.response,
    summary: call.summary,
  };
  if (call.error !== undefined) entry.error = call.error;
  if (call.incomplete) entry.incomplete = true;
  if (call.midstream) entry.midstream = true;
  return entry;
}
