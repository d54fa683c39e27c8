// Records testdata/grpc/calls.pcap: real @grpc/grpc-js traffic between a server and clients
// on loopback port 50051, one call of every shape of shop.v1.Cart (protos/shop/v1/cart.proto):
// unary with metadata, a NOT_FOUND error, server streaming (5 events), client streaming
// (4 items), bidirectional (3 each way), a gzip-compressed call, a 100 KB message (larger than
// one HTTP/2 frame) and a call the client cancels. Also writes calls-midstream.pcap (the
// same capture without its first packets, as if tapping began late).
// Usage (root, tcpdump and editcap installed): npx tsx testdata/grpc/record.ts
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const here = fileURLToPath(new URL('.', import.meta.url));
const PORT = Number(process.env.PORT ?? 50051);
const out = process.env.OUT ?? `${here}calls.pcap`;

const definition = protoLoader.loadSync('shop/v1/cart.proto', { includeDirs: [`${here}protos`], keepCase: true, longs: String });
const shop = (grpc.loadPackageDefinition(definition) as any).shop.v1;

function startServer(): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(shop.Cart.service, {
    AddItem(call: any, callback: any) {
      if (call.request.user === 'nobody') {
        callback({ code: grpc.status.NOT_FOUND, details: 'user nobody not found' });
        return;
      }
      if (call.request.user === 'slow') return; // never answers: the client cancels
      const md = new grpc.Metadata();
      md.set('x-served-by', 'cart-1');
      call.sendMetadata(md);
      callback(null, { cart_id: `cart-${call.request.user}`, item_count: call.request.item?.quantity ?? 0, total: { currency: 'EUR', units: 1250 }, updated: { seconds: 1700000000, nanos: 5 } });
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
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${PORT}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve(server))),
  );
}

function unary(client: any, method: string, request: unknown, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<unknown> {
  return new Promise((resolve) => client[method](request, metadata, options, (err: unknown, reply: unknown) => resolve(err ?? reply)));
}

async function traffic(): Promise<void> {
  const address = `127.0.0.1:${PORT}`;
  const client = new shop.Cart(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('x-request-id', 'req-42');
  md.set('authorization', 'Bearer secret-token');
  await unary(client, 'AddItem', { user: 'alice', item: { sku: 'sku-1', quantity: 3, price: { currency: 'EUR', units: 420 } } }, md);
  await unary(client, 'AddItem', { user: 'nobody', item: { sku: 'sku-2', quantity: 1 } });
  await new Promise<void>((resolve) => {
    const call = client.WatchCart({ cart_id: 'cart-alice', events: 5 });
    call.on('data', () => undefined);
    call.on('end', resolve);
    call.on('error', resolve);
  });
  await new Promise<void>((resolve) => {
    const call = client.UploadItems((_err: unknown) => resolve());
    for (let i = 1; i <= 4; i++) call.write({ user: 'bob', item: { sku: `sku-${i}`, quantity: i } });
    call.end();
  });
  await new Promise<void>((resolve) => {
    const call = client.Chat();
    call.on('data', () => undefined);
    call.on('end', resolve);
    call.on('error', resolve);
    for (let i = 1; i <= 3; i++) call.write({ text: `hello ${i}`, n: i });
    call.end();
  });
  await unary(client, 'AddItem', { user: 'big', item: { sku: 'sku-big', quantity: 1, blob: Buffer.alloc(100_000, 7) } });
  await unary(client, 'AddItem', { user: 'slow', item: { sku: 'sku-slow', quantity: 1 } }, new grpc.Metadata(), { deadline: Date.now() + 300 });
  client.close();
  // A second connection whose client compresses every message with gzip.
  const gzipClient = new shop.Cart(address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  await unary(gzipClient, 'AddItem', { user: 'zip', item: { sku: 'sku-zip-'.repeat(20), quantity: 7 } });
  gzipClient.close();
}

const tcpdump = spawn('tcpdump', ['-i', 'lo', '-B', '65536', '-w', out, '--immediate-mode', '-U', `tcp port ${PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise<void>((resolve) => tcpdump.stderr.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
const server = await startServer();
await traffic();
await new Promise((r) => setTimeout(r, 200));
server.forceShutdown();
await new Promise((r) => setTimeout(r, 300));
tcpdump.kill('SIGINT');
await new Promise((r) => tcpdump.on('exit', r));
// Tapping begins late: drop the first 12 packets (handshake, preface, SETTINGS, first call).
spawnSync('editcap', ['-r', out, out.replace(/\.pcap$/, '-midstream.pcap'), '13-100000']);
console.error(`wrote ${out}`);
