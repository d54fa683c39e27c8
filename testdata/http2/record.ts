// Records the HTTP/2 captures of testdata/http2 from real servers and clients on loopback:
//  node.pcap      node:http2 server and client on port 18080 (a port no tool maps to HTTP/2):
//                 query strings, a JSON POST, gzip and br bodies, a 404, server push, a stream
//                 the client resets, response trailers, a 200 KB body, a 20 KB request header
//                 (CONTINUATION frames), 20 concurrent streams, padding on every server frame,
//                 and a client header table size of 512 (SETTINGS acknowledged, then used).
//  h2load.pcap    nghttpd (nghttp2) serving a file, h2load with 300 requests on 2 connections
//                 and 30 concurrent streams each (HPACK dynamic table reuse), port 18081.
//  h2c.pcap       curl --http2 (HTTP/1.1 Upgrade: h2c) against nghttpd, port 18082.
// Usage (root; tcpdump, nghttpd, h2load, curl installed): npx tsx testdata/http2/record.ts
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
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

await capture('node.pcap', 18080, nodeTraffic);

await capture('h2load.pcap', 18081, async () => {
  const nghttpd = startNghttpd(18081);
  await sleep(300);
  spawnSync('h2load', ['-n', '300', '-c', '2', '-m', '30', 'http://127.0.0.1:18081/index.html'], { stdio: 'ignore' });
  nghttpd.kill('SIGTERM');
});

await capture('h2c.pcap', 18082, async () => {
  const nghttpd = startNghttpd(18082);
  await sleep(300);
  spawnSync('curl', ['-s', '-o', '/dev/null', '--http2', 'http://127.0.0.1:18082/index.html', 'http://127.0.0.1:18082/index.html?again=1']);
  nghttpd.kill('SIGTERM');
});
console.error('wrote node.pcap, h2load.pcap, h2c.pcap');
