// Records the captures of testdata/midstream/: connections opened BEFORE tcpdump starts, so
// the capture has no SYN, and whose client is bound to a LOWER port than its server. The
// reassembler's port guess (the higher port is the client) is therefore wrong on every one,
// and only content-based detection can put the client back on the src side.
//
//   grpc.pcap   a real @grpc/grpc-js server on 50051; a node http2 client (nghttp2) bound to
//               local port 40051 sending gRPC-framed protobuf (testdata/grpc/protos). One
//               AddItem before capture (so its :path is in the HPACK dynamic table), then
//               AddItem (path only by dynamic index), WatchCart (server streaming), UploadItems
//               (client streaming) and Chat (bidirectional) while capturing.
//   http1.pcap  a node http server on 45080; a keep-alive agent whose socket is bound to local
//               port 40080. One GET before capture, then GET, POST, GET (404) while capturing.
//   redis.pcap  redis-server on 45379; a node net client on local port 40379 sending RESP.
//               PING before capture, then LRANGE first (its reply is an array of bulk strings,
//               which looks like a command), then SET, GET, INCR, HGETALL, DEL.
//   tls.pcap    a node https server on 18443 (a throw-away self-signed certificate, openssl CLI)
//               and a keep-alive https agent, as the shop's checkout calls payments: one POST
//               before capture (so the handshake is behind us), then three POSTs while
//               capturing. The client is on an ephemeral (higher) port: TLS records say
//               nothing of who is the client, so the port guess is all there is.
//   amqp.pcap   rabbitmq-server on 45672; an amqplib publisher on local port 40672 and a
//               consumer (manual acks) on 40673, both connected, declared and consuming before
//               capture, as the shop's checkout and shipping are: three sendToQueue while
//               capturing, each delivered to the consumer and acked. Fewer than 4 KiB a side,
//               the case a detector that waits for more bytes never leaves in a live session.
//
// Usage (root; tcpdump, redis-server, rabbitmq-server, openssl installed):
//   npx tsx testdata/midstream/record.ts [grpc] [http1] [redis] [tls] [amqp]   (default: all)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http2 from 'node:http2';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import amqp from 'amqplib';
import { execFileSync } from 'node:child_process';

const here = fileURLToPath(new URL('.', import.meta.url));
const protoDir = fileURLToPath(new URL('../grpc/protos/', import.meta.url));

/** Runs tcpdump on loopback for `port` around `traffic`, then stops it with SIGINT. */
async function capture(file: string, port: number, traffic: () => Promise<void>): Promise<void> {
  const dump = spawn('tcpdump', ['-i', 'lo', '-w', `${here}${file}`, '--immediate-mode', '-U', `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    dump.on('exit', (code) => reject(new Error(`tcpdump exited ${code}`)));
  });
  await traffic();
  await sleep(300);
  await stop(dump);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

// ---- gRPC ----------------------------------------------------------------------------------

async function recordGrpc(): Promise<void> {
  const PORT = 50051;
  const definition = protoLoader.loadSync('shop/v1/cart.proto', { includeDirs: [protoDir], keepCase: true, longs: String });
  const shop = (grpc.loadPackageDefinition(definition) as any).shop.v1;
  const server = new grpc.Server();
  server.addService(shop.Cart.service, {
    AddItem(call: any, callback: any) {
      callback(null, { cart_id: `cart-${call.request.user}`, item_count: call.request.item?.quantity ?? 0 });
    },
    WatchCart(call: any) {
      for (let i = 1; i <= call.request.events; i++) call.write({ seq: i, kind: i % 2 ? 'added' : 'removed' });
      call.end();
    },
    UploadItems(call: any, callback: any) {
      let count = 0;
      call.on('data', (req: any) => (count += req.item?.quantity ?? 0));
      call.on('end', () => callback(null, { cart_id: 'cart-upload', item_count: count }));
    },
    Chat(call: any) {
      call.on('data', (msg: any) => call.write({ text: `echo ${msg.text}`, n: msg.n * 10 }));
      call.on('end', () => call.end());
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${PORT}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${protoDir}${target}`);
  await root.load('shop/v1/cart.proto', { keepCase: true });
  const type = (name: string) => root.lookupType(`shop.v1.${name}`);
  const frame = (name: string, value: object): Buffer => {
    const body = Buffer.from(type(name).encode(type(name).fromObject(value)).finish());
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    return Buffer.concat([prefix, body]);
  };

  const session = http2.connect(`http://127.0.0.1:${PORT}`, {
    createConnection: () => net.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.1', localPort: 40051 }),
  });
  const call = (method: string, messages: Buffer[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': `/shop.v1.Cart/${method}`, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('data', () => undefined);
      req.on('end', resolve);
      req.on('error', reject);
      for (const m of messages) req.write(m);
      req.end();
    });
  const addItem = (user: string, quantity: number) => frame('AddItemRequest', { user, item: { sku: `sku-${user}`, quantity } });

  await call('AddItem', [addItem('warmup', 1)]); // before tcpdump: the connection and its tables exist
  await capture('grpc.pcap', PORT, async () => {
    await call('AddItem', [addItem('alice', 3)]);
    await call('WatchCart', [frame('WatchRequest', { cart_id: 'cart-alice', events: 4 })]);
    await call('UploadItems', [addItem('bob', 1), addItem('bob', 2), addItem('bob', 3)]);
    await call('Chat', [frame('ChatMessage', { text: 'hi', n: 1 }), frame('ChatMessage', { text: 'there', n: 2 })]);
    await call('AddItem', [addItem('carol', 5)]);
  });
  session.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
}

// ---- HTTP/1.1 ------------------------------------------------------------------------------

async function recordHttp1(): Promise<void> {
  const PORT = 45080;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, got: body.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as any).createConnection = (opts: net.NetConnectOpts, cb: unknown) =>
    net.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.1', localPort: 40080 }, cb as () => void);
  const request = (method: string, path: string, body?: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: PORT, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });

  await request('GET', '/warmup');
  await capture('http1.pcap', PORT, async () => {
    await request('GET', '/api/items?page=2');
    await request('POST', '/api/items', JSON.stringify({ sku: 'sku-9', quantity: 2 }));
    await request('GET', '/missing');
  });
  agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// ---- Redis ---------------------------------------------------------------------------------

async function recordRedis(): Promise<void> {
  const PORT = 45379;
  const redis = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    let socket: net.Socket | null = null;
    for (let i = 0; i < 50 && !socket; i++) {
      await sleep(100);
      socket = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.1', localPort: 40379 });
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(null));
      });
    }
    if (!socket) throw new Error('redis-server did not start');
    const s = socket;
    const command = (...args: string[]): Promise<void> =>
      new Promise((resolve) => {
        s.once('data', () => resolve());
        s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      });
    await command('PING');
    await command('RPUSH', 'queue', 'GET', 'SET', 'alpha');
    await capture('redis.pcap', PORT, async () => {
      await command('LRANGE', 'queue', '0', '-1');
      await command('SET', 'greeting', 'hello');
      await command('GET', 'greeting');
      await command('INCR', 'counter');
      await command('HSET', 'user:1', 'name', 'ann');
      await command('HGETALL', 'user:1');
      await command('DEL', 'greeting');
    });
    s.destroy();
  } finally {
    await stop(redis);
  }
}

// ---- TLS (joined after the handshake) -------------------------------------------------------

async function recordTls(): Promise<void> {
  const PORT = 18443;
  const work = mkdtempSync(join(tmpdir(), 'midstream-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${work}/key.pem`, '-out', `${work}/cert.pem`, '-days', '2', '-subj', '/CN=payments.shop.example'], { stdio: 'ignore' });
    const key = readFileSync(`${work}/key.pem`);
    const cert = readFileSync(`${work}/cert.pem`);
    const server = https.createServer({ key, cert }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ charged: true, bytes: body.length })));
    });
    await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert, servername: 'payments.shop.example' });
    const charge = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ order: `order-${n}`, cents: 1999 * n });
        const req = https.request({ host: '127.0.0.1', port: PORT, method: 'POST', path: '/charge', agent, servername: 'payments.shop.example', headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      });
    await charge(0); // before tcpdump: the handshake happened, the connection stays open
    await capture('tls.pcap', PORT, async () => {
      for (let n = 1; n <= 3; n++) {
        await charge(n);
        await sleep(200);
      }
    });
    agent.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---- AMQP 0-9-1 (long-lived publisher and consumer) ----------------------------------------

async function recordAmqp(): Promise<void> {
  const PORT = 45672;
  const work = mkdtempSync(join(tmpdir(), 'midstream-amqp-'));
  const lib = '/usr/lib/rabbitmq/lib';
  const version = readdirSync(lib).filter((d) => d.startsWith('rabbitmq_server-')).sort().pop();
  const sbin = join(lib, version!, 'sbin');
  const node = `tap-midstream-${process.pid}@localhost`;
  writeFileSync(join(work, 'enabled_plugins'), '[].');
  const env = {
    ...process.env, HOME: work, RABBITMQ_MNESIA_BASE: `${work}/mnesia`, RABBITMQ_LOG_BASE: `${work}/log`,
    RABBITMQ_NODE_PORT: String(PORT), RABBITMQ_DIST_PORT: String(PORT + 10000), RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1', RABBITMQ_ENABLED_PLUGINS_FILE: join(work, 'enabled_plugins'),
  };
  const epmdBefore = spawnSyncOut('pgrep', ['-x', 'epmd']);
  const broker = spawn(join(sbin, 'rabbitmq-server'), [], { env, stdio: 'ignore' });
  try {
    const url = `amqp://guest:guest@127.0.0.1:${PORT}`;
    let publisher: amqp.ChannelModel | null = null;
    for (let i = 0; i < 120 && !publisher; i++) {
      await sleep(500);
      publisher = await amqp.connect(url, { localAddress: '127.0.0.1', localPort: 40672 }).catch(() => null);
    }
    if (!publisher) throw new Error('rabbitmq-server did not start');
    const consumer = await amqp.connect(url, { localAddress: '127.0.0.1', localPort: 40673 });
    const pub = await publisher.createChannel();
    await pub.assertQueue('shipments', { durable: false });
    const sub = await consumer.createChannel();
    await sub.assertQueue('shipments', { durable: false });
    let delivered = 0;
    await sub.consume('shipments', (msg) => {
      if (!msg) return;
      delivered += 1;
      sub.ack(msg);
    });
    pub.sendToQueue('shipments', Buffer.from(JSON.stringify({ order: 'warmup' })));
    while (delivered < 1) await sleep(50);
    await capture('amqp.pcap', PORT, async () => {
      for (let n = 1; n <= 3; n++) {
        pub.sendToQueue('shipments', Buffer.from(JSON.stringify({ order: `order-${n}`, items: n })));
        while (delivered < n + 1) await sleep(20);
        await sleep(200);
      }
    });
    await publisher.close();
    await consumer.close();
  } finally {
    execFileSync(join(sbin, 'rabbitmqctl'), ['-n', node, 'stop'], { env, stdio: 'ignore' });
    await new Promise<void>((resolve) => (broker.exitCode !== null ? resolve() : broker.once('exit', () => resolve())));
    // The broker starts an epmd daemon: stop the one it started (others, e.g. a simulated
    // cluster's, were there before and are left alone).
    const before = new Set(epmdBefore.split('\n'));
    for (const pid of spawnSyncOut('pgrep', ['-x', 'epmd']).split('\n').filter((p) => p && !before.has(p))) process.kill(Number(pid));
    rmSync(work, { recursive: true, force: true });
  }
}

function spawnSyncOut(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const recorders: Record<string, () => Promise<void>> = { grpc: recordGrpc, http1: recordHttp1, redis: recordRedis, tls: recordTls, amqp: recordAmqp };
const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(recorders)) await recorders[name]!();
