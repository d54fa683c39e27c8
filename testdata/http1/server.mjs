// Ground-truth HTTP/1.x server for the testdata/http1 captures. A real node `http` server
// (plus a raw `net` server for the close-delimited HTTP/1.0 case) that appends one JSON line
// per request it serves to --log: method, path, raw query, status, the exact request body
// size, the decoded response body size and the bytes of it on the wire. The captures'
// *.expected.json files are derived from these logs (derive-expected.mjs), never from our
// engine's output.
//
// Usage: node server.mjs --host H --port P --log FILE [--raw-port P2]
// Stops on SIGTERM/SIGINT; writes its log synchronously so a kill loses nothing.
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { appendFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'raw-port': { type: 'string' },
    log: { type: 'string' },
    quiet: { type: 'boolean', default: false }, // wrk: log only counts, not one line per request
  },
});
const logFile = args.log;
if (logFile) writeFileSync(logFile, '');

let served = 0;
function log(record) {
  served += 1;
  if (logFile && !args.quiet) appendFileSync(logFile, JSON.stringify(record) + '\n');
}

/** Deterministic bytes (xorshift32) so binary bodies are the same on every recording. */
function pseudoRandomBytes(n, seed) {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const binaryBody = Buffer.concat([PNG_MAGIC, pseudoRandomBytes(16 * 1024 - 8, 0x5eed)]);
const bigText = Buffer.from(
  Array.from({ length: (200 * 1024) / 64 }, (_, i) => `line ${String(i).padStart(6, '0')} of the 200 KiB text body `.padEnd(63, '.') + '\n').join(''),
);
const compressibleText = Buffer.from(
  JSON.stringify({ items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 3 + 0.5, tags: ['a', 'b'] })) }),
);

function json(res, status, obj, extraHeaders = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...extraHeaders });
  return body;
}

/** Routes return { status, body (decoded bytes, what a client sees after decoding), wire (bytes sent), encoding }. */
function route(req, reqBody, url) {
  const res = req.res;
  const path = url.pathname;
  if (path === '/api/items') {
    const body = json(res, 200, { items: [1, 2, 3], query: Object.fromEntries([...url.searchParams.keys()].map((k) => [k, url.searchParams.getAll(k)])) });
    return { status: 200, body };
  }
  if (path === '/api/login' && req.method === 'POST') {
    let user = null;
    try { user = JSON.parse(reqBody.toString()).user ?? null; } catch { user = null; }
    const body = json(res, 200, { ok: true, user, token: 'session-abc' });
    return { status: 200, body };
  }
  if (path === '/api/orders' && req.method === 'POST') {
    const body = json(res, 201, { created: true, size: reqBody.length }, { location: '/api/orders/42' });
    return { status: 201, body };
  }
  if (path === '/upload' && req.method === 'POST') {
    const body = json(res, 201, { stored: reqBody.length });
    return { status: 201, body };
  }
  if (path === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked', trailer: 'x-checksum' });
    const parts = ['first chunk\n', 'second chunk, a little longer\n', 'third\n'].map((s) => Buffer.from(s));
    for (const p of parts) res.write(p);
    const trailers = { 'x-checksum': 'abc123' };
    res.addTrailers(trailers);
    return { status: 200, body: Buffer.concat(parts), streamed: true, trailers };
  }
  if (path === '/gzip' || path === '/deflate' || path === '/br') {
    const encoding = path.slice(1);
    const wire = encoding === 'gzip' ? zlib.gzipSync(compressibleText)
      : encoding === 'deflate' ? zlib.deflateSync(compressibleText)
      : zlib.brotliCompressSync(compressibleText);
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': wire.length, vary: 'accept-encoding' });
    return { status: 200, body: compressibleText, wire, encoding };
  }
  if (path === '/empty') {
    res.writeHead(204);
    return { status: 204, body: Buffer.alloc(0) };
  }
  if (path === '/etag') {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"' });
      return { status: 304, body: Buffer.alloc(0) };
    }
    const body = Buffer.from('versioned content v1\n');
    res.writeHead(200, { etag: '"v1"', 'content-type': 'text/plain', 'content-length': body.length });
    return { status: 200, body };
  }
  if (path.startsWith('/pipe/') || path.startsWith('/ka/') || path.startsWith('/mid/')) {
    const body = Buffer.from(`you asked for ${path}\n`);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    return { status: 200, body };
  }
  if (path === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bigText.length });
    return { status: 200, body: bigText };
  }
  if (path === '/binary') {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': binaryBody.length });
    return { status: 200, body: binaryBody };
  }
  if (path === '/echo') {
    // GET /echo?size=N answers N bytes; POST /echo answers with the size it received.
    const size = Math.min(Number(url.searchParams.get('size') ?? reqBody.length) || 0, 1 << 20);
    const body = Buffer.from('e'.repeat(size));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    return { status: 200, body };
  }
  if (path === '/boom') {
    const body = json(res, 500, { error: 'boom' });
    return { status: 500, body };
  }
  const body = json(res, 404, { error: 'not found', path });
  return { status: 404, body };
}

function handle(req, res) {
  const chunks = [];
  const startedMs = Date.now();
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const reqBody = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://x');
    req.res = res;
    const r = route(req, reqBody, url);
    const isHead = req.method === 'HEAD';
    const noBody = isHead || r.status === 204 || r.status === 304;
    if (noBody) res.end();
    else if (r.streamed) res.end();
    else res.end(r.wire ?? r.body);
    res.on('finish', () => {
      log({
        t: startedMs,
        client: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        httpVersion: req.httpVersion,
        method: req.method,
        path: url.pathname,
        query: url.search.slice(1),
        status: r.status,
        reqBodySize: reqBody.length,
        resBodySize: noBody ? 0 : r.body.length,
        resWireSize: noBody ? 0 : (r.wire ?? r.body).length,
        contentEncoding: r.encoding ?? null,
        ...(r.trailers ? { trailers: r.trailers } : {}),
      });
    });
  });
}

const server = http.createServer({ keepAliveTimeout: 30_000 }, handle);
// Expect: 100-continue: answer 100 explicitly so the capture shows the interim response.
server.on('checkContinue', (req, res) => { res.writeContinue(); handle(req, res); });
server.listen(Number(args.port), args.host, () => process.stdout.write(`listening ${args.host}:${args.port}\n`));

// HTTP/1.0-style response delimited by closing the connection: node's http server always
// frames its responses, so this one is written by hand on a raw socket.
let raw = null;
if (args['raw-port']) {
  raw = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    const startedMs = Date.now();
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0 || buf.length > 65536) return;
      const [method, target, version] = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1').split(' ');
      const url = new URL(target, 'http://x');
      const body = Buffer.from('legacy response without a length: the server closes the connection to end it.\n'.repeat(20));
      sock.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nServer: legacy\r\n\r\n'), body]));
      log({
        t: startedMs, client: `${sock.remoteAddress}:${sock.remotePort}`, httpVersion: version.slice(5), method,
        path: url.pathname, query: url.search.slice(1), status: 200, reqBodySize: 0,
        resBodySize: body.length, resWireSize: body.length, contentEncoding: null,
      });
      sock.removeAllListeners('data');
    });
    sock.on('error', () => {});
  });
  raw.listen(Number(args['raw-port']), args.host);
}

function stop() {
  if (logFile && args.quiet) writeFileSync(logFile, JSON.stringify({ served }) + '\n');
  server.close();
  raw?.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
