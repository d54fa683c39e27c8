// CONNECT tunnels and bodies that cannot be decoded, on real traffic: a node http server
// (a CONNECT proxy to a second server, and routes that send a body its content-encoding
// does not describe, an unsupported coding, a decompression bomb and a compressed body over
// the 8 MiB cap) behind the recording proxy; the recording is replayed through the HTTP/1
// dissector and every entry checked against the schema.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MAX_COMPRESSED_BYTES, MAX_DECODED_BYTES } from '../../src/protocols/content-decoding.js';
import { assertValidEntries } from '../helpers/schema.js';
import { directionBytes, makeHarness, replay, startRecordingProxy, type Recording, type RecordingProxy } from './http1-support.js';

const plain = Buffer.from('this body says gzip but is plain text\n');
const bomb = gzipSync(Buffer.alloc(MAX_DECODED_BYTES + 1024 * 1024)); // ~17 KB that inflate to 17 MiB
const overCap = gzipSync(randomBytes(MAX_COMPRESSED_BYTES + 64 * 1024)); // random bytes do not compress

let target: http.Server;
let server: http.Server;
let proxy: RecordingProxy;

before(async () => {
  target = http.createServer((req, res) => res.end(`tunnelled ${req.url}`));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetPort = (target.address() as net.AddressInfo).port;
  server = http.createServer((req, res) => {
    const send = (headers: Record<string, string | number>, body: Buffer) => {
      res.writeHead(200, { 'content-length': body.length, ...headers });
      res.end(body);
    };
    if (req.url === '/not-gzip') return send({ 'content-encoding': 'gzip' }, plain);
    if (req.url === '/unsupported') return send({ 'content-encoding': 'compress' }, plain);
    if (req.url === '/bomb') return send({ 'content-encoding': 'gzip' }, bomb);
    if (req.url === '/over-cap') return send({ 'content-encoding': 'gzip' }, overCap);
    return send({}, Buffer.from('ok'));
  });
  // A CONNECT proxy: 200 and a byte pipe to the target, or 403 for any other host.
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    if (req.url !== `127.0.0.1:${targetPort}`) {
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\n\r\nforbidden');
      // The connection stays HTTP/1: hand it back to the server for the next request.
      server.emit('connection', socket);
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.pipe(upstream).pipe(socket);
    });
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy = await startRecordingProxy((server.address() as net.AddressInfo).port);
});

after(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  target.closeAllConnections();
  await new Promise((r) => target.close(r));
});

/** A raw client: writes each request once the previous answer is complete (by a marker), then closes. */
async function rawConversation(steps: { send: string; until: string }[]): Promise<{ answers: string[]; recording: Recording }> {
  const first = proxy.connections.length;
  const socket = net.connect(proxy.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', r));
  let buffered = '';
  socket.setEncoding('latin1').on('data', (d: string) => (buffered += d));
  const answers: string[] = [];
  for (const step of steps) {
    buffered = '';
    socket.write(step.send);
    for (let i = 0; i < 500 && !buffered.includes(step.until); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(buffered.includes(step.until), `no "${step.until}" in the answer to ${JSON.stringify(step.send)}: ${JSON.stringify(buffered)}`);
    answers.push(buffered);
  }
  socket.end();
  await proxy.settled();
  return { answers, recording: proxy.connections[first]! };
}

function dissect(recording: Recording) {
  const harness = makeHarness();
  replay(recording, harness);
  const entries = harness.entries();
  assertValidEntries(entries);
  return { entries, stats: harness.stats };
}

test('CONNECT answered 200: one entry for the CONNECT, the tunnelled bytes are counted, not parsed', async () => {
  const targetPort = (target.address() as net.AddressInfo).port;
  const { recording } = await rawConversation([
    { send: `CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nhost: 127.0.0.1:${targetPort}\r\n\r\n`, until: '\r\n\r\n' },
    { send: 'GET /inside HTTP/1.1\r\nhost: x\r\n\r\n', until: 'tunnelled /inside' },
  ]);
  const { entries, stats } = dissect(recording);
  assert.deepEqual(entries.map((e) => e.summary), [`CONNECT 127.0.0.1:${targetPort} -> 200`]);
  // Everything after the 200's head, both ways, went through the tunnel.
  const head = 'HTTP/1.1 200 Connection Established\r\n\r\n';
  const connectRequest = `CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nhost: 127.0.0.1:${targetPort}\r\n\r\n`;
  const tunnelled = directionBytes(recording, 0).length - connectRequest.length + directionBytes(recording, 1).length - head.length;
  assert.ok(tunnelled > 0);
  assert.equal(stats.get('http1.upgradedBytesIgnored'), tunnelled);
});

test('CONNECT refused (403): the connection stays HTTP/1 and the next request is paired', async () => {
  const { recording } = await rawConversation([
    { send: 'CONNECT elsewhere.example:443 HTTP/1.1\r\nhost: elsewhere.example:443\r\n\r\n', until: 'forbidden' },
    { send: 'GET /after-refusal HTTP/1.1\r\nhost: x\r\n\r\n', until: '\r\n\r\nok' },
  ]);
  const { entries } = dissect(recording);
  assert.deepEqual(entries.map((e) => e.summary), ['CONNECT elsewhere.example:443 -> 403', 'GET /after-refusal -> 200']);
  assert.equal(entries[0]!.response?.body, 'forbidden');
});

test('bodyDecodeError: not what content-encoding says, an unsupported coding, a bomb, over the compressed cap', { timeout: 120_000 }, async () => {
  const paths = ['/not-gzip', '/unsupported', '/bomb', '/over-cap'];
  const first = proxy.connections.length;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const path of paths) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }
  agent.destroy();
  await proxy.settled();
  const { entries, stats } = dissect(proxy.connections[first]!);
  const byPath = new Map(entries.map((e) => [String(e.request.path), e.response as Record<string, unknown>]));
  assert.deepEqual([...byPath.keys()], paths);

  const notGzip = byPath.get('/not-gzip')!;
  assert.equal(notGzip.bodyDecodeError, 'gzip: incorrect header check');
  assert.equal(notGzip.body, plain.toString(), 'the raw bytes are kept when decoding fails');
  assert.equal(notGzip.bodySize, plain.length);

  assert.equal(byPath.get('/unsupported')!.bodyDecodeError, 'unsupported content-encoding compress');

  const bombed = byPath.get('/bomb')!;
  assert.equal(bombed.bodyDecodeError, `decoded body larger than ${MAX_DECODED_BYTES} bytes`);
  assert.equal(bombed.bodyWireSize, bomb.length);

  const big = byPath.get('/over-cap')!;
  assert.equal(big.bodyDecodeError, `compressed body larger than ${MAX_COMPRESSED_BYTES} bytes`);
  assert.equal(big.bodyWireSize, overCap.length);

  assert.equal(stats.get('http1.bodyDecodeErrors'), 2, 'the corrupt body and the bomb failed to decode');
  assert.equal(stats.get('http1.bodiesNotDecoded.tooLarge'), 1);
});
