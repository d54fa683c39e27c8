// What every shop service shares: the admin server on :9100 whose /metrics returns the
// service's request counters as JSON (the cluster tests read them through pods/proxy),
// service addresses from the env vars the kubelet injects, the gRPC definitions, and a
// retry helper for dependencies that start later.
import http from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const counters: Record<string, number> = {};

export function count(name: string, n = 1): void {
  counters[name] = (counters[name] ?? 0) + n;
}

export function startAdmin(service: string): void {
  http.createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ service, pod: process.env.HOSTNAME, counters }));
    } else if (req.url === '/healthz') {
      res.end('ok');
    } else {
      res.writeHead(404).end();
    }
  }).listen(9100, '0.0.0.0');
  console.log(`${service} admin on :9100`);
}

/** host:port of a Service, from the {NAME}_SERVICE_HOST/_PORT variables of the pod's env. */
export function serviceAddr(name: string): { host: string; port: number } {
  const prefix = name.toUpperCase().replace(/-/g, '_');
  const host = process.env[`${prefix}_SERVICE_HOST`];
  const port = process.env[`${prefix}_SERVICE_PORT`];
  if (!host || !port) throw new Error(`service ${name} is not in this pod's environment`);
  return { host, port: Number(port) };
}

export function loadShopProto(): any {
  const file = process.env.SHOP_PROTO ?? join(process.cwd(), 'test/cluster/shop/shop.proto');
  const def = protoLoader.loadSync(file, { keepCase: false, longs: Number, defaults: true });
  return (grpc.loadPackageDefinition(def) as any).shop;
}

export async function retry<T>(what: string, fn: () => Promise<T>, delayMs = 1000): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt % 5 === 1) console.log(`${what}: ${(err as Error).message} (retrying)`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { grpc };
