// pods/proxy and services/proxy: forwards a request to a pod's IP and port (through the
// relay, see net/relay.ts) and streams both ways, as the real API server does: the target
// is NAME, NAME:PORT or SCHEME:NAME:PORT (PORT a number or a port name), the rest of the
// path and the query go to the pod, request headers pass except hop-by-hop ones and the
// caller's credentials, X-Forwarded-For is added, and upgrades (WebSocket) are spliced.
import http from 'node:http';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { dial } from '../net/dial.js';
import { ApiError, errors } from './status.js';
import type { Store } from './store.js';
import { findResource } from './resources.js';
import type { ProxyTarget } from './server.js';
import { HOP_BY_HOP } from './server.js';

interface Resolved {
  scheme: 'http' | 'https';
  ip: string;
  port: number;
}

function namedPort(containers: any[], port: string): number | undefined {
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of containers ?? []) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

export function resolveTarget(store: Store, t: ProxyTarget): Resolved {
  const parts = t.nameSpec.split(':');
  let scheme = 'http';
  let name: string;
  let port = '';
  if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else [name, port = ''] = parts as [string, string?];
  if (scheme !== 'http' && scheme !== 'https') throw errors.badRequest(`invalid scheme ${scheme}`);
  if (t.kind === 'pods') {
    const pod = store.mustGet(findResource('', 'v1', 'pods')!, t.namespace, name);
    const ip = pod.status?.podIP;
    if (!ip) throw errors.badRequest(`address not allowed`);
    let p: number | undefined;
    if (port === '') p = (pod.spec?.containers ?? []).flatMap((c: any) => c.ports ?? [])[0]?.containerPort ?? (scheme === 'https' ? 443 : 80);
    else p = namedPort(pod.spec?.containers, port);
    if (!p) throw errors.badRequest(`invalid port ${port}`);
    return { scheme, ip, port: p };
  }
  const svc = store.mustGet(findResource('', 'v1', 'services')!, t.namespace, name);
  const svcPort = port === '' ? svc.spec?.ports?.[0] : (svc.spec?.ports ?? []).find((p: any) => p.name === port || String(p.port) === port);
  if (!svcPort) throw errors.serviceUnavailable(`no endpoints available for service "${name}"`);
  const slices = store.list(findResource('discovery.k8s.io', 'v1', 'endpointslices')!, t.namespace).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === name);
  const candidates: { ip: string; port: number }[] = [];
  for (const s of slices) {
    const sp = (s.ports ?? []).find((p: any) => (p.name ?? '') === (svcPort.name ?? ''));
    if (!sp) continue;
    for (const e of s.endpoints ?? []) if (e.conditions?.ready) candidates.push({ ip: e.addresses[0], port: sp.port });
  }
  const pick = candidates[Math.floor(Math.random() * candidates.length)];
  if (!pick) throw errors.serviceUnavailable(`no endpoints available for service "${name}"`);
  return { scheme, ...pick };
}

function forwardHeaders(req: IncomingMessage, host: string, keepUpgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = String(req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'authorization' || k === 'host') continue;
    if (HOP_BY_HOP.has(k) && !(keepUpgrade && (k === 'upgrade' || k === 'connection'))) continue;
    if (!keepUpgrade && connectionTokens.includes(k)) continue;
    out[k] = v;
  }
  const client = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
  out.host = host;
  return out;
}

function connect(relaySocket: string, target: Resolved): Duplex {
  const raw = dial(relaySocket, target.ip, target.port);
  if (target.scheme === 'https') return tls.connect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  return raw;
}

export function proxyRequest(store: Store, relaySocket: string, req: IncomingMessage, res: ServerResponse | undefined, upgrade: { socket: Duplex; head: Buffer } | undefined, t: ProxyTarget): void {
  let target: Resolved;
  try {
    target = resolveTarget(store, t);
  } catch (err) {
    const e = err instanceof ApiError ? err : errors.badRequest(String(err));
    if (res) {
      res.writeHead(e.code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(e.toStatus()));
    } else upgrade?.socket.destroy();
    return;
  }
  const path = (t.path || '/') + t.search;
  const hostHeader = `${target.ip}:${target.port}`;
  if (upgrade) {
    const upstream = connect(relaySocket, target);
    const headers = forwardHeaders(req, hostHeader, true);
    let head = `${req.method} ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) head += `${k}: ${one}\r\n`;
    upstream.write(head + '\r\n');
    if (upgrade.head.length) upstream.write(upgrade.head);
    upstream.pipe(upgrade.socket);
    upgrade.socket.pipe(upstream);
    upstream.on('error', () => upgrade.socket.destroy());
    upgrade.socket.on('error', () => upstream.destroy());
    return;
  }
  const out = http.request({
    method: req.method, path, headers: forwardHeaders(req, hostHeader, false),
    createConnection: () => connect(relaySocket, target) as any,
  }, (up) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    res!.writeHead(up.statusCode ?? 502, headers);
    up.pipe(res!);
    res!.on('close', () => up.destroy());
  });
  out.on('error', (err) => {
    if (res!.headersSent) {
      res!.destroy();
      return;
    }
    const e = new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${err.message}`);
    res!.writeHead(503, { 'Content-Type': 'application/json' });
    res!.end(JSON.stringify(e.toStatus()));
  });
  req.pipe(out);
  res!.on('close', () => out.destroy());
}
