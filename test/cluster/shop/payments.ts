// payments: the application listens on 127.0.0.1:8080 only (plain HTTP/1.1); its
// istio-proxy sidecar (named and annotated as Istio injects it) (same pod, same network namespace) terminates mutual TLS on :8443 and
// forwards to it, so the plaintext exists only on the pod's loopback, as with a service mesh.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { count, startAdmin } from './lib.js';

export function startPayments(): void {
  startAdmin('payments');
  http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      count('charges');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ charged: true, bytes: body.length }));
    });
  }).listen(8080, '127.0.0.1');
  console.log('payments on 127.0.0.1:8080');
}

export function startMeshProxy(): void {
  const upstreamPort = Number(process.env.UPSTREAM_PORT ?? 8080);
  let accepted = 0;
  let rejected = 0;
  const server = tls.createServer({ cert: process.env.MESH_CERT, key: process.env.MESH_KEY, ca: process.env.MESH_CA, requestCert: true, rejectUnauthorized: true }, (client) => {
    accepted++;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.on('tlsClientError', () => rejected++);
  server.listen(8443, '0.0.0.0');
  http.createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ service: 'istio-proxy', counters: { accepted, rejected } }));
  }).listen(9101, '0.0.0.0');
  console.log('istio-proxy mTLS :8443 -> 127.0.0.1:' + upstreamPort);
}
