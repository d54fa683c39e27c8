// Records the HTTP/2 captures of testdata/http2 from real servers and clients on loopback:
//  node.pcap      node:http2 server and client on port 18080 (a port no tool maps to HTTP/2):
//                 query strings, a JSON POST, gzip and br bodies, a 404, server push, a stream
//                 the client resets, response trailers, a 200 KB body, a 20 KB request header
//                 (CONTINUATION frames), 20 concurrent streams, padding on every server frame,
//                 and a client header table size of 512 (SETTINGS acknowledged, then used).
//  h2load.pcap    nghttpd (nghttp2) serving a file, h2load with 300 requests on 2 connections
//                 and 30 concurrent streams each (HPACK dynamic table reuse), port 18081.
//  h2c.pcap       HTTP/1.1 `Upgrade: h2c` accepted by nghttpx (no-tls frontend, port 18082) in
//                 front of a node:http backend (port 18083): curl --http2 with two URLs on one
//                 connection (the upgrade request, then stream 3), curl --http2 POST with a body
//                 (upgraded too), two curl --http2 POSTs with `Expect: 100-continue`: /continue
//                 gets 100 Continue, sends its body, then 101 and HTTP/2; /refused gets a 417
//                 before any body (nghttpx does not upgrade once the response has started),
//                 so it stays HTTP/1.1 and curl closes; nghttp -u with a
//                 100 KB upgraded response and a second URL (stream 13, after nghttp's PRIORITY
//                 anchors).
//                 nghttpd cannot be used here: it does not answer the upgrade (it sends SETTINGS
//                 at once and never replies to the HTTP/1.1 request). The ground truth is written
//                 next to it: h2c.expected.json holds nghttpx's access log (client port, path,
//                 protocol the request arrived in and the one that answered, status, body bytes)
//                 and the backend's log.
// Usage (root; tcpdump, nghttpd, h2load, nghttpx, nghttp, curl, tshark installed):
//   npx tsx testdata/http2/record.ts [node] [h2load] [h2c]   (no names: all three)
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('.', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function capture(file: string, port: number, traffic: () => Promise<void>): Promise<void> {
  const tcpdump = spawn('tcpdump', ['-i', 'lo', '-B', '65536', '-w', join(here, file), '--immediate-mode', '-U', `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => tcpdump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
  await traffic();
  await sleep(300);
  tcpdump.kill('SIGINT');
  await new Promise((r) => tcpdump.on('exit', r));
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<void> {
  return new Promise((resolve) => {
    const req = client.request(headers);
    req.on('response', () => undefined);
    req.on('data', () => undefined);
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', resolve);
    req.end(body);
  });
}

async function nodeTraffic(): Promise<void> {
  const server = http2.createServer({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    if (path.startsWith('/hello')) stream.respond({ ':status': 200, 'content-type': 'text/plain' }), stream.end(`hello ${path}`);
    else if (path === '/echo') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/json' });
        stream.end(Buffer.concat(chunks));
      });
    } else if (path === '/gzip') stream.respond({ ':status': 200, 'content-encoding': 'gzip', 'content-type': 'application/json' }), stream.end(gzipSync(JSON.stringify({ packed: 'gzip', n: 1 })));
    else if (path === '/br') stream.respond({ ':status': 200, 'content-encoding': 'br', 'content-type': 'text/plain' }), stream.end(brotliCompressSync('brotli body'));
    else if (path === '/push') {
      stream.pushStream({ ':path': '/pushed.css' }, (err, push) => {
        if (!err) push.respond({ ':status': 200, 'content-type': 'text/css' }), push.end('body { color: red }');
        stream.respond({ ':status': 200, 'content-type': 'text/html' });
        stream.end('<link rel=stylesheet href=/pushed.css>');
      });
    } else if (path === '/slow') stream.on('error', () => undefined); // never answered: the client resets
    else if (path === '/trailers') {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123' }));
      stream.end('with trailers');
    } else if (path === '/big') stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' }), stream.end(Buffer.alloc(200_000, 0xab));
    else if (path.startsWith('/item/')) stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-item': path.slice(6) }), stream.end(JSON.stringify({ item: path.slice(6) }));
    else stream.respond({ ':status': 404 }), stream.end('not found');
  });
  await new Promise<void>((r) => server.listen(18080, '127.0.0.1', r));
  const client = http2.connect('http://127.0.0.1:18080', { settings: { headerTableSize: 512, enablePush: true } });
  client.on('stream', (pushed) => pushed.on('data', () => undefined));
  await request(client, { ':path': '/hello?name=a&name=b&x=%20y' });
  await request(client, { ':method': 'POST', ':path': '/echo', 'content-type': 'application/json' }, JSON.stringify({ user: 'alice', qty: 2 }));
  await request(client, { ':path': '/gzip', 'accept-encoding': 'gzip' });
  await request(client, { ':path': '/br', 'accept-encoding': 'br' });
  await request(client, { ':path': '/missing' });
  await request(client, { ':path': '/push' });
  await sleep(50);
  const slow = client.request({ ':path': '/slow' });
  slow.on('error', () => undefined);
  await sleep(50);
  slow.close(http2.constants.NGHTTP2_CANCEL);
  await request(client, { ':path': '/trailers' });
  await request(client, { ':path': '/big' });
  await request(client, { ':path': '/hello/large-header', 'x-large': 'v'.repeat(20_000) });
  await Promise.all(Array.from({ length: 20 }, (_, i) => request(client, { ':path': `/item/${i}`, 'x-trace': `trace-${i % 3}` })));
  client.close();
  await sleep(100);
  server.close();
}

function startNghttpd(port: number): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'nghttpd-'));
  writeFileSync(join(dir, 'index.html'), '<html><body>kubectl-tap h2 test page</body></html>\n');
  return spawn('nghttpd', ['--no-tls', '-d', dir, String(port)], { stdio: 'ignore' });
}

// --- h2c: the HTTP/1.1 Upgrade, really performed by nghttpx ---------------------------------

interface BackendLogLine { method: string; url: string; requestBodySize: number; responseBodySize: number; responseBody?: string }

/** The origin behind nghttpx: small text bodies naming the path, and 100 KB for /big. */
function startBackend(log: BackendLogLine[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let requestBodySize = 0;
    req.on('data', (c: Buffer) => (requestBodySize += c.length));
    req.on('end', () => {
      const body = req.url === '/big' ? Buffer.alloc(100_000, 0x61) : Buffer.from(`hello ${req.method} ${req.url} (${requestBodySize} bytes in)\n`);
      log.push({ method: req.method!, url: req.url!, requestBodySize, responseBodySize: body.length, ...(body.length < 200 ? { responseBody: body.toString() } : {}) });
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
  });
  // nghttpx forwards `Expect: 100-continue`. /refused answers 417 at once: the response then
  // starts before the request is complete, which makes nghttpx answer in HTTP/1.1.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url !== '/refused') return res.writeContinue(), server.emit('request', req, res);
    const body = Buffer.from('417: no body wanted\n');
    log.push({ method: req.method!, url: req.url!, requestBodySize: 0, responseBodySize: body.length, responseBody: body.toString() });
    res.writeHead(417, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(18083, '127.0.0.1', () => resolve(server)));
}

/** Connects until the port answers, before tcpdump starts, so the probes stay out of the capture. */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Async, unlike spawnSync: the backend answers from this same event loop. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${err.message} ${stderr}`)) : resolve(stdout + stderr))));
}

const accessLogFormat = '{"clientPort":$remote_port,"method":"$method","path":"$path","protocol":"$protocol_version","status":$status,"bodySize":$body_bytes_sent,"alpn":"$alpn"}';

async function recordH2c(): Promise<void> {
  const backendLog: BackendLogLine[] = [];
  const backend = await startBackend(backendLog);
  const dir = mkdtempSync(join(tmpdir(), 'nghttpx-'));
  const accessLog = join(dir, 'access.log');
  const nghttpx = spawn('nghttpx', ['--conf=/dev/null', '--single-process', '--no-ocsp', '-f127.0.0.1,18082;no-tls', '-b127.0.0.1,18083',
    `--accesslog-file=${accessLog}`, `--accesslog-format=${accessLogFormat}`, `--errorlog-file=${join(dir, 'error.log')}`], { stdio: 'ignore' });
  try {
    await waitForPort(18082);
    const base = 'http://127.0.0.1:18082';
    await capture('h2c.pcap', 18082, async () => {
      // curl sends `Upgrade: h2c` for http:// URLs with --http2; the second URL reuses the connection.
      await run('curl', ['-sS', '-o', '/dev/null', '-o', '/dev/null', '--http2', `${base}/index.html`, `${base}/index.html?again=1`]);
      await run('curl', ['-sS', '-o', '/dev/null', '--http2', '-H', 'content-type: application/json', '--data-binary', '{"user":"alice","qty":2}', `${base}/form`]);
      // `Expect: 100-continue`: a 100 before the 101, then a 417 that refuses the upgrade.
      await run('curl', ['-sS', '-o', '/dev/null', '--http2', '-H', 'expect: 100-continue', '--data-binary', 'x'.repeat(3000), `${base}/continue`]);
      await run('curl', ['-sS', '-o', '/dev/null', '--http2', '-H', 'expect: 100-continue', '--data-binary', 'x'.repeat(3000), `${base}/refused`]);
      // nghttp -u: the first URL is the upgrade request, the second goes out over HTTP/2.
      await run('nghttp', ['-u', '-n', `${base}/big`, `${base}/after-big`]);
    });
  } finally {
    nghttpx.kill('SIGTERM');
    await new Promise((r) => nghttpx.on('exit', r));
    await new Promise((r) => backend.close(r));
  }
  const frontend = readFileSync(accessLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  if (frontend.length !== backendLog.length) throw new Error(`nghttpx logged ${frontend.length} requests, the backend ${backendLog.length}`);
  verifyUpgradesWithTshark(join(here, 'h2c.pcap'), 4); // 5 connections, /refused has no 101
  writeFileSync(join(here, 'h2c.expected.json'), JSON.stringify({ frontend, backend: backendLog }, null, 2) + '\n');
}

/** Refuses a capture in which tshark does not see, on each upgraded connection, a 101 and stream 1 answered over HTTP/2. */
function verifyUpgradesWithTshark(file: string, upgrades: number): void {
  const out = spawnSync('tshark', ['-r', file, '-d', 'tcp.port==18082,http', '-Y', 'http.response.code == 101 || (http2.type == 1 && http2.streamid == 1)',
    '-T', 'fields', '-e', 'tcp.stream', '-e', 'http.response.code', '-e', 'http2.header.name'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`tshark: ${out.stderr}`);
  const switched = new Set<string>();
  const answered = new Set<string>();
  for (const [stream, code, names] of out.stdout.trim().split('\n').map((l) => l.split('\t'))) {
    if (code === '101') switched.add(stream!);
    if (names?.includes(':status')) answered.add(stream!);
  }
  const unanswered = [...switched].filter((stream) => !answered.has(stream));
  if (switched.size !== upgrades || unanswered.length > 0) throw new Error(`tshark: ${switched.size} upgrades (want ${upgrades}), stream 1 unanswered on ${unanswered.length}`);
}

const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

if (wanted('node')) await capture('node.pcap', 18080, nodeTraffic);

if (wanted('h2load')) {
  await capture('h2load.pcap', 18081, async () => {
    const nghttpd = startNghttpd(18081);
    await sleep(300);
    spawnSync('h2load', ['-n', '300', '-c', '2', '-m', '30', 'http://127.0.0.1:18081/index.html'], { stdio: 'ignore' });
    nghttpd.kill('SIGTERM');
  });
}

if (wanted('h2c')) await recordH2c();
console.error(`wrote ${['node', 'h2load', 'h2c'].filter(wanted).map((n) => `${n}.pcap`).join(', ')}`);
