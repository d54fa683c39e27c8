// Real HTTP/1.x clients for the testdata/http1 captures: node `http` with keep-alive agents,
// curl (100-continue, HTTP/1.0, compressed), and a raw net.Socket for pipelining. Each
// scenario is a fixed, bounded list of requests; the server's log is the ground truth.
//
// Usage: node clients.mjs --scenario mixed|few|midstream|impaired --host H --port P
//        [--raw-port P2] [--wait-file F] [--seed N]
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'few' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'raw-port': { type: 'string' },
    'wait-file': { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
const host = args.host;
const port = Number(args.port);
const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
const base = `http://${hostHeader}`;

// A whole scenario must finish on its own even if the network misbehaves.
setTimeout(() => { console.error('clients: scenario timed out'); process.exit(2); }, 90_000).unref();

function request(agent, method, path, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent, headers }, (res) => {
      let size = 0;
      res.on('data', (c) => { size += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, size }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function curl(...curlArgs) {
  const r = spawnSync('curl', ['-sS', '-o', '/dev/null', '--max-time', '20', ...curlArgs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl ${curlArgs.join(' ')}: ${r.stderr}`);
}

/** Ten requests written at once on one socket, before any response: pipelining. */
function pipelined(n) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const reqs = [];
    for (let i = 1; i <= n; i++) {
      const close = i === n ? 'Connection: close\r\n' : '';
      reqs.push(`GET /pipe/${i}?n=${i} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: raw-pipeliner\r\n${close}\r\n`);
    }
    sock.setTimeout(20_000, () => sock.destroy(new Error('pipelining timeout')));
    sock.on('connect', () => sock.write(reqs.join('')));
    let got = 0;
    sock.on('data', (d) => { got += d.length; });
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

async function waitForFile(file) {
  for (let i = 0; i < 200 && !existsSync(file); i++) await sleep(50);
  if (!existsSync(file)) throw new Error(`wait-file ${file} never appeared`);
}

/** xorshift32: same request mix on every recording. */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const scenarios = {
  async mixed() {
    const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(ka, 'GET', '/api/items?tag=a&tag=b&limit=10');
    await request(ka, 'POST', '/api/login', {
      headers: { 'content-type': 'application/json', authorization: 'Bearer s3cr3t-t0ken' },
      body: JSON.stringify({ user: 'alice', password: 'hunter2', remember: true }),
    });
    await request(ka, 'GET', '/chunked');
    for (const enc of ['gzip', 'deflate', 'br']) await request(ka, 'GET', `/${enc}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    await request(ka, 'HEAD', '/api/items');
    await request(ka, 'GET', '/empty');
    await request(ka, 'GET', '/etag');
    await request(ka, 'GET', '/etag?revalidate=1', { headers: { 'if-none-match': '"v1"' } });
    await request(ka, 'GET', '/missing');
    await request(ka, 'GET', '/boom');
    await request(ka, 'GET', '/big');
    await request(ka, 'GET', '/binary');
    await request(ka, 'POST', '/api/orders', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'tea-01', qty: 2, note: 'x'.repeat(300) }),
    });
    ka.destroy();
    // A second keep-alive connection with several requests.
    const ka2 = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 1; i <= 4; i++) await request(ka2, 'GET', `/ka/${i}`);
    ka2.destroy();
    // curl: Expect: 100-continue with a body, a query with repeated keys, --compressed.
    curl('-H', 'Expect: 100-continue', '-H', 'Content-Type: application/octet-stream', '--data-binary', 'u'.repeat(2048), `${base}/upload`);
    curl(`${base}/api/items?q=x&q=y&q=z&page=2`);
    curl('--compressed', `${base}/gzip?client=curl`);
    await pipelined(10);
    if (args['raw-port']) curl('--http1.0', `http://${host.includes(':') ? `[${host}]` : host}:${args['raw-port']}/legacy?v=1`);
  },

  async few() {
    const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(ka, 'GET', '/api/items?tag=a&tag=b');
    await request(ka, 'POST', '/api/orders', { headers: { 'content-type': 'application/json' }, body: '{"sku":"tea-01","qty":1}' });
    await request(ka, 'GET', '/gzip', { headers: { 'accept-encoding': 'gzip' } });
    await request(ka, 'GET', '/missing');
    ka.destroy();
    curl(`${base}/chunked`);
  },

  async midstream() {
    const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 1; i <= 2; i++) await request(ka, 'GET', `/mid/before/${i}`);
    process.stdout.write('phase1-done\n');
    await waitForFile(args['wait-file']);
    for (let i = 1; i <= 5; i++) await request(ka, i === 3 ? 'POST' : 'GET', `/mid/after/${i}`, i === 3 ? { body: 'p'.repeat(500) } : {});
    ka.destroy();
  },

  async impaired() {
    // ~200 requests on 4 keep-alive connections, bodies of a few tens of KiB both ways.
    const rnd = prng(Number(args.seed));
    const ka = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const jobs = [];
    for (let i = 0; i < 200; i++) {
      const kind = rnd();
      if (kind < 0.8) {
        const size = 100 + Math.floor(rnd() * 1400);
        jobs.push(() => request(ka, 'GET', `/echo?size=${size}&i=${i}`));
      } else if (kind < 0.92) {
        const size = 4096 + Math.floor(rnd() * 20_480);
        jobs.push(() => request(ka, 'GET', `/echo?size=${size}&i=${i}`));
      } else if (kind < 0.97) {
        const size = 3072 + Math.floor(rnd() * 13_312);
        jobs.push(() => request(ka, 'POST', `/echo?i=${i}`, { headers: { 'content-type': 'text/plain' }, body: 'q'.repeat(size) }));
      } else {
        jobs.push(() => request(ka, 'GET', `/missing?i=${i}`));
      }
    }
    // Four workers, so the four connections carry interleaved traffic.
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }));
    ka.destroy();
  },
};

const run = scenarios[args.scenario];
if (!run) throw new Error(`unknown scenario ${args.scenario}`);
await run();
