// Real payloads for the property tests: a node http server and client talk over loopback
// through a `net` proxy that records the bytes each way (keep-alive, several requests, a
// chunked response and a POST body), so the streams are what real HTTP/1.1 peers write.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RecordedExchange {
  client: Buffer;
  server: Buffer;
}

export async function recordHttpExchange(): Promise<RecordedExchange> {
  const big = Buffer.alloc(48 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      if (req.url === '/big') {
        res.setHeader('content-type', 'application/octet-stream');
        res.end(big);
      } else if (req.url === '/chunked') {
        res.write('first chunk\n');
        res.write(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}` })) }));
        res.end('\nlast chunk\n');
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ path: req.url, method: req.method, received: Buffer.concat(body).length }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = (server.address() as AddressInfo).port;

  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const proxy = net.createServer((inbound) => {
    const outbound = net.connect(serverPort, '127.0.0.1');
    inbound.on('data', (c: Buffer) => {
      toServer.push(Buffer.from(c));
      outbound.write(c);
    });
    outbound.on('data', (c: Buffer) => {
      toClient.push(Buffer.from(c));
      inbound.write(c);
    });
    inbound.on('end', () => outbound.end());
    outbound.on('end', () => inbound.end());
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method: string, path: string, body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxyPort, method, path, agent }, (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    await request('GET', '/hello?x=1');
    await request('POST', '/upload', Buffer.from(JSON.stringify({ text: 'x'.repeat(20_000) })));
    await request('GET', '/chunked');
    await request('GET', '/big');
    await request('DELETE', '/items/42');
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return { client: Buffer.concat(toServer), server: Buffer.concat(toClient) };
}
