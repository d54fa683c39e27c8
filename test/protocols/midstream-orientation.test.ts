// Connections the capture joined late, whose client sits on the LOWER port: the reassembler's
// port guess is backwards, and content-based detection must put the client back on the src
// side. Real captures from testdata/midstream/record.ts (gRPC over HTTP/2, HTTP/1.1, Redis).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readCaptureFile } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { engineOptions } from '../../src/engine.js';
import type { Call } from '../../src/entry.js';
import { openConnection } from '../../src/protocols/dispatch.js';
import { tcpDissectors } from '../../src/protocols/registry.js';
import type { Dir, Probe } from '../../src/protocols/types.js';
import { Stats } from '../../src/stats.js';
import { senderIsClientGuess } from '../../src/tcp/tuple.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

const dir = new URL('../../testdata/midstream/', import.meta.url).pathname;
type AnyRecord = Record<string, any>;
interface Expected {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  calls: AnyRecord[];
}

function expected(name: string): Expected {
  return JSON.parse(readFileSync(`${dir}${name}.expected.json`, 'utf8')) as Expected;
}

/** Every entry of the capture, checked against the schema and for its orientation. */
async function orientedEntries(name: string, protocol: string): Promise<{ entries: AnyRecord[]; want: Expected }> {
  const want = expected(name);
  const { entries, stats } = await entriesFromCapture(`${dir}${name}.pcap`);
  assertValidEntries(entries);
  assert.equal(stats['tcp.connectionsMidstream'], 1, 'the capture must start after the handshake');
  assert.equal(stats['engine.unclaimedConnections'] ?? 0, 0);
  assert.equal(entries.length, want.calls.length, `entries: ${entries.map((e) => e.summary).join(' | ')}`);
  for (const e of entries) {
    assert.equal(e.protocol, protocol);
    assert.equal(e.midstream, true, `${e.summary} is marked as joined mid-stream`);
    assert.deepEqual({ ip: e.src.ip, port: e.src.port }, want.client, `src of ${e.summary}`);
    assert.deepEqual({ ip: e.dst.ip, port: e.dst.port }, want.server, `dst of ${e.summary}`);
  }
  return { entries: entries as AnyRecord[], want };
}

test('gRPC joined late, client on the lower port: calls decoded from the static table, nothing invented', async () => {
  const { entries, want } = await orientedEntries('grpc', 'grpc');
  entries.forEach((e, i) => {
    const call = want.calls[i];
    assert.equal(e.request.path, call.path);
    assert.equal(e.request.messageCount, call.requestMessages, `${call.path} request messages`);
    assert.equal(e.response.status, call.status);
    assert.equal(e.response.messageCount, call.responseMessages, `${call.path} response messages`);
    // :authority, content-type and grpc-status were in the HPACK dynamic table before the
    // capture began: unknown, so left out and flagged rather than guessed.
    assert.equal(e.request.headersIncomplete, true);
    assert.equal(e.request.authority, undefined);
    assert.equal(e.response.grpcStatus, null);
    assert.equal(e.incomplete, true);
  });
});

test('HTTP/1.1 keep-alive joined late, client on the lower port', async () => {
  const { entries, want } = await orientedEntries('http1', 'http');
  entries.forEach((e, i) => {
    assert.equal(e.request.method, want.calls[i].method);
    assert.equal(e.request.path, want.calls[i].path);
    assert.equal(e.response.status, want.calls[i].status);
  });
});

test('Redis joined late, client on the lower port, first reply an array of bulk strings', async () => {
  const { entries, want } = await orientedEntries('redis', 'redis');
  entries.forEach((e, i) => {
    assert.equal(e.request.command, want.calls[i].command);
    assert.deepEqual(e.request.args, want.calls[i].args);
    assert.deepEqual(e.response.value, want.calls[i].reply);
  });
});

/** The TCP payloads of the capture's one connection, in capture order, by sender. */
async function payloads(name: string, client: { port: number }): Promise<Array<{ fromClient: boolean; data: Buffer; ts: number }>> {
  const decoder = new PacketDecoder(new Stats());
  const out: Array<{ fromClient: boolean; data: Buffer; ts: number }> = [];
  await readCaptureFile(`${dir}${name}.pcap`, (frame) => {
    const p = decoder.decode(frame);
    if (p?.transport === 'tcp' && p.payload.length > 0) out.push({ fromClient: p.srcPort === client.port, data: Buffer.from(p.payload), ts: p.tsMicros });
  });
  return out;
}

const cases = [
  { name: 'grpc', dissector: 'http2' },
  { name: 'http1', dissector: 'http1' },
  { name: 'redis', dissector: 'redis' },
];

for (const { name, dissector } of cases) {
  test(`${name}: detectors read the orientation from the first two exchanges`, async () => {
    const want = expected(name);
    // Precondition: the port guess really is backwards for this capture.
    assert.equal(senderIsClientGuess(want.client.port, want.server.port), false);
    const segments = await payloads(name, want.client);
    // Two exchanges: one Redis array reply (LRANGE's) reads like a command, so a single
    // exchange of that kind is ambiguous; the second (+OK) is not. (The engine is not misled
    // even then: the request arrives first, and the detectors refuse a side that sent nothing.)
    const firstClient = Buffer.concat(segments.filter((s) => s.fromClient).slice(0, 2).map((s) => s.data));
    const firstServer = Buffer.concat(segments.filter((s) => !s.fromClient).slice(0, 2).map((s) => s.data));
    const right: Probe = { client: firstClient, server: firstServer, clientPort: want.client.port, serverPort: want.server.port, midstream: true };
    const wrong: Probe = { client: firstServer, server: firstClient, clientPort: want.server.port, serverPort: want.client.port, midstream: true };
    for (const d of tcpDissectors) {
      if (d.name === dissector) {
        assert.equal(d.detect(right), 'yes', `${d.name} on the real orientation`);
        assert.equal(d.detect(wrong), 'no', `${d.name} on the swapped orientation`);
      } else {
        assert.notEqual(d.detect(right), 'yes', `${d.name} must not claim ${name}`);
        assert.notEqual(d.detect(wrong), 'yes', `${d.name} must not claim ${name} swapped`);
      }
    }
  });

  test(`${name}: the engine claims the connection while it is open, client on the src side`, async () => {
    const want = expected(name);
    const segments = await payloads(name, want.client);
    // The reassembler's view: the higher port taken for the client, joined midstream.
    const ends = { client: want.server, server: want.client, midstream: true };
    const calls: Array<{ call: Call; client: { port: number } }> = [];
    const stats = new Stats();
    const parser = openConnection(ends, engineOptions({}), stats, (call, client) => calls.push({ call, client }));
    for (const s of segments) parser.onData((s.fromClient ? 1 : 0) as Dir, s.data, s.ts);
    // No onEnd: a live tap must not need the connection to close before anything is decoded.
    // Every call is out before the connection ends: each response completes its call (HTTP/1
    // by Content-Length, HTTP/2 by END_STREAM, Redis by the reply itself).
    assert.equal(calls.length, want.calls.length, `${calls.length} calls before the connection ended`);
    assert.equal(stats.toJSON()[`engine.connections.${dissector}`], 1);
    for (const { client } of calls) assert.equal(client.port, want.client.port);
  });
}

// AMQP and Kafka: the real bytes of existing captures, taken from the middle of a connection
// (as a late capture sees them) and offered in both orientations.
const lateCases = [
  { file: '../amqp/session-midstream.pcap', protocol: 'amqp', skip: 0 },
  { file: '../kafka/clients.pcap', protocol: 'kafka', skip: 6 },
];

for (const { file, protocol, skip } of lateCases) {
  test(`${protocol}: detection mid-connection refuses the swapped orientation`, async () => {
    const { entries } = await entriesFromCapture(`${dir}${file}`);
    const first = entries.find((e) => e.protocol === protocol)!;
    const client = first.src.port;
    const server = first.dst.port;
    const decoder = new PacketDecoder(new Stats());
    const segments: Array<{ fromClient: boolean; data: Buffer }> = [];
    await readCaptureFile(`${dir}${file}`, (frame) => {
      const p = decoder.decode(frame);
      if (p?.transport !== 'tcp' || p.payload.length === 0) return;
      const pair = [p.srcPort, p.dstPort];
      if (pair.includes(client) && pair.includes(server)) segments.push({ fromClient: p.srcPort === client, data: Buffer.from(p.payload) });
    });
    const late = segments.slice(skip, skip + 8);
    const c = Buffer.concat(late.filter((s) => s.fromClient).map((s) => s.data));
    const s = Buffer.concat(late.filter((s) => !s.fromClient).map((s) => s.data));
    assert.ok(c.length > 0 && s.length > 0, 'both sides spoke in the window');
    const dissector = tcpDissectors.find((d) => d.name === protocol)!;
    assert.equal(dissector.detect({ client: c, server: s, clientPort: client, serverPort: server, midstream: true }), 'yes');
    assert.equal(dissector.detect({ client: s, server: c, clientPort: server, serverPort: client, midstream: true }), 'no');
  });
}
