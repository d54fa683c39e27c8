// Real servers for the HTTP/1 dissector tests: a node `http` server with the routes the
// tests exercise (logging what it served, as ground truth), a raw `net` server for an
// HTTP/1.0 response delimited by close, and an h2c upgrade endpoint handing the socket to
// node's http2 server.

import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';

export interface Served {
  method: string;
  url: string;
  status: number;
  requestBodySize: number;
  /** Bytes the server wrote as the body (after content-encoding). */
  responseWireSize: number;
}

export const textPayload = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 3 })) });
export const bigText = 'abcdefghijklmnopqrstuvwxyz0123456789\n'.repeat(Math.ceil((200 * 1024) / 37)).slice(0, 200 * 1024);
export const binaryPayload = randomBytes(3000);
export const encoded: Record<string, Buffer> = {
  gzip: gzipSync(textPayload),
  deflate: deflateSync(textPayload),
  'deflate-raw': deflateRawSync(textPayload),
  br: brotliCompressSync(textPayload),
};

export interface TestServers {
  httpPort: number;
  rawPort: number;
  served: Served[];
  close(): Promise<void>;
}

export async function startServers(): Promise<TestServers> {
  const served: Served[] = [];
  const h2 = http2.createServer();
  h2.on('session', (session) => setTimeout(() => session.destroy(), 150).unref());
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, payload: Buffer | string, headers: Record<string, string | number> = {}) => {
        const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
        served.push({ method: req.method ?? '', url: req.url ?? '', status, requestBodySize: body.length, responseWireSize: req.method === 'HEAD' ? 0 : bytes.length });
        res.writeHead(status, { 'content-length': bytes.length, ...headers });
        res.end(req.method === 'HEAD' ? undefined : bytes);
      };
      switch (url.pathname) {
        case '/json':
          return send(200, JSON.stringify({ i: url.searchParams.get('i'), ok: true }), { 'content-type': 'application/json' });
        case '/echo':
        case '/upload':
          return send(200, body, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
        case '/nocontent':
          served.push({ method: req.method ?? '', url: req.url ?? '', status: 204, requestBodySize: body.length, responseWireSize: 0 });
          res.writeHead(204);
          return res.end();
        case '/etag':
          if (req.headers['if-none-match'] === '"v1"') {
            served.push({ method: req.method ?? '', url: req.url ?? '', status: 304, requestBodySize: body.length, responseWireSize: 0 });
            res.writeHead(304, { etag: '"v1"' });
            return res.end();
          }
          return send(200, 'etagged', { etag: '"v1"' });
        case '/chunked': {
          served.push({ method: req.method ?? '', url: req.url ?? '', status: 200, requestBodySize: body.length, responseWireSize: textPayload.length });
          res.writeHead(200, { 'content-type': 'application/json', trailer: 'x-checksum' });
          res.write(textPayload.slice(0, 100));
          setTimeout(() => {
            res.write(textPayload.slice(100));
            res.addTrailers({ 'x-checksum': createHash('sha1').update(textPayload).digest('hex') });
            res.end();
          }, 5);
          return;
        }
        case '/big':
          return send(200, bigText, { 'content-type': 'text/plain' });
        case '/binary':
          return send(200, binaryPayload, { 'content-type': 'image/png' });
        case '/gzip':
        case '/deflate':
        case '/deflate-raw':
        case '/br': {
          const name = url.pathname.slice(1);
          const coding = name === 'deflate-raw' ? 'deflate' : name;
          return send(200, encoded[name], { 'content-type': 'application/json', 'content-encoding': coding });
        }
        case '/cut':
          // Announces 1000 bytes, sends 100, then the connection dies.
          res.writeHead(200, { 'content-length': 1000, 'content-type': 'text/plain' });
          res.write('c'.repeat(100));
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        case '/hangup':
          return req.socket.destroy();
        default:
          return send(404, 'not found');
      }
    });
  });
  server.on('upgrade', (req, socket: net.Socket) => {
    const proto = String(req.headers.upgrade ?? '').toLowerCase();
    if (proto === 'websocket') {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      // One unmasked text frame "hello from server", as a server sends it (RFC 6455 5.2).
      const text = Buffer.from('hello from server');
      socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
      socket.on('data', () => socket.end());
      socket.on('error', () => {});
      return;
    }
    if (proto === 'h2c') {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      h2.emit('connection', socket);
      return;
    }
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  // HTTP/1.0 without Content-Length: the body ends when the server closes.
  const raw = net.createServer((socket) => {
    socket.once('data', () => {
      served.push({ method: 'GET', url: '/legacy', status: 200, requestBodySize: 0, responseWireSize: 5000 });
      socket.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${bigText.slice(0, 5000)}`);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));

  return {
    httpPort: (server.address() as net.AddressInfo).port,
    rawPort: (raw.address() as net.AddressInfo).port,
    served,
    close: async () => {
      server.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => raw.close(() => resolve())),
        new Promise<void>((resolve) => h2.close(() => resolve())),
      ]);
    },
  };
}
