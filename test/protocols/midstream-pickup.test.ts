// Connections the capture joined after their start, as a live session meets every connection
// opened before the tap (the shop's checkout -> payments TLS, its AMQP publisher and consumer,
// its gRPC channels): TLS records without a ClientHello, AMQP frames without the protocol
// header, and entries that come as the bytes do rather than when the input ends. Real captures
// from testdata/midstream/record.ts (see its README).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readCaptureFile } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { Engine, engineOptions } from '../../src/engine.js';
import type { Call, Entry } from '../../src/entry.js';
import { openConnection } from '../../src/protocols/dispatch.js';
import { detectKafka } from '../../src/protocols/kafka/detect.js';
import type { Dir } from '../../src/protocols/types.js';
import { Stats } from '../../src/stats.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { skipUnless, tool } from '../helpers/requirements.js';
import { discoverCaptures } from '../engine/robustness-runner.js';
import { assertValidEntries } from '../helpers/schema.js';

const midstream = new URL('../../testdata/midstream/', import.meta.url).pathname;
type AnyRecord = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Segment { dir: Dir; data: Buffer; ts: number }

/** The payloads of the one connection to `serverPort`, in capture order (dir 0: to the server). */
async function segments(file: string, serverPort: number): Promise<Segment[]> {
  const decoder = new PacketDecoder(new Stats());
  const out: Segment[] = [];
  await readCaptureFile(file, (frame) => {
    const p = decoder.decode(frame);
    if (!p || p.transport !== 'tcp' || p.payload.length === 0) return;
    if (p.dstPort === serverPort) out.push({ dir: 0, data: Buffer.from(p.payload), ts: p.tsMicros });
    else if (p.srcPort === serverPort) out.push({ dir: 1, data: Buffer.from(p.payload), ts: p.tsMicros });
  });
  return out;
}

/** Feeds segments to the engine's dispatcher for a connection joined mid-stream. */
function dispatch(feed: (parser: ReturnType<typeof openConnection>) => void): { calls: Call[]; stats: Record<string, number> } {
  const stats = new Stats();
  const calls: Call[] = [];
  const parser = openConnection(
    { client: { ip: '127.0.0.1', port: 35260 }, server: { ip: '127.0.0.1', port: 18443 }, midstream: true },
    engineOptions(), stats, (call) => calls.push(call),
  );
  feed(parser);
  parser.onEnd(0);
  return { calls, stats: stats.toJSON() };
}

/** Entries emitted while frames were still coming, and those only emitted at the end of input. */
async function liveAndFlushed(file: string): Promise<{ live: Entry[]; flushed: Entry[] }> {
  const live: Entry[] = [];
  const flushed: Entry[] = [];
  let ended = false;
  const engine = new Engine(engineOptions(), (e) => (ended ? flushed : live).push(e));
  await readCaptureFile(file, (frame) => engine.handleFrame(frame));
  ended = true;
  engine.finish();
  return { live, flushed };
}

test('TLS joined after the handshake: an entry per exchange (the three POSTs made), marked mid-stream, no SNI, the client where it was', async () => {
  const { entries, stats } = await entriesFromCapture(`${midstream}tls.pcap`);
  assertValidEntries(entries);
  assert.equal(stats['tcp.connectionsMidstream'], 1);
  assert.equal(entries.length, 3, entries.map((e) => e.summary).join(' | '));
  for (const e of entries as AnyRecord[]) {
    assert.equal(e.protocol, 'tls');
    assert.equal(e.midstream, true);
    assert.equal(e.incomplete, undefined);
    assert.equal(e.dst.port, 18443);
    assert.notEqual(e.src.port, 18443);
    assert.equal(e.request.sni, undefined);
    assert.equal(e.request.version, undefined, 'the negotiated version is unknown without the hellos');
    assert.equal(e.request.recordVersion, '1.2');
    assert.equal(e.response.recordVersion, '1.2');
    assert.ok(e.request.records >= 1 && e.request.bytes > e.request.records * 5, JSON.stringify(e.request));
    assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
    assert.match(e.summary, /joined mid-stream/);
  }
  // The script paused 200 ms between POSTs: the exchanges are that far apart.
  const starts = entries.map((e) => Date.parse(e.timestamp));
  assert.ok(starts[1]! - starts[0]! >= 190 && starts[2]! - starts[1]! >= 190, entries.map((e) => e.timestamp).join(' '));
  assert.equal(stats['tls.malformed'] ?? 0, 0);
  assert.equal(stats['engine.unclaimedConnections'] ?? 0, 0);
});

test('TLS mid-stream: every record is counted as tshark reads them', async (t) => {
  if (skipUnless(t, tool('tshark', '-v'))) return;
  const r = spawnSync('tshark', ['-r', `${midstream}tls.pcap`, '-d', 'tcp.port==18443,tls', '-T', 'fields', '-e', 'tls.record.content_type'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const types = r.stdout.split(/[\n,]/).filter(Boolean);
  assert.ok(types.length >= 6, `tshark saw ${types.length} records`);
  const { stats } = await entriesFromCapture(`${midstream}tls.pcap`);
  const ours = Object.entries(stats).filter(([k]) => k.startsWith('tls.midstream.records.')).reduce((n, [, v]) => n + v, 0);
  assert.equal(ours, types.length);
  assert.equal(stats['tls.midstream.records.application_data'], types.filter((x) => x === '23').length);
});

test('TLS mid-stream: the same entry and record count when every byte comes in a segment of its own', async () => {
  const segs = await segments(`${midstream}tls.pcap`, 18443);
  const whole = dispatch((p) => segs.forEach((s) => p.onData(s.dir, s.data, s.ts)));
  const bytewise = dispatch((p) => segs.forEach((s) => {
    for (let i = 0; i < s.data.length; i++) p.onData(s.dir, s.data.subarray(i, i + 1), s.ts);
  }));
  assert.equal(whole.calls.length, 3);
  assert.deepEqual(bytewise.calls, whole.calls);
  assert.equal(bytewise.stats['tls.midstream.records.application_data'], whole.stats['tls.midstream.records.application_data']);
});

test('TLS mid-stream after lost bytes: the gap is counted, the walk finds the next records, nothing is called malformed', async () => {
  const segs = await segments(`${midstream}tls.pcap`, 18443);
  const whole = dispatch((p) => segs.forEach((s) => p.onData(s.dir, s.data, s.ts)));
  // Half of the first client record lost: the walk must not take its remaining bytes for a
  // header, and starts again at the next records once two in a row prove the boundary.
  const lostAt = segs.findIndex((s) => s.dir === 0);
  const lossy = dispatch((p) => segs.forEach((s, i) => {
    if (i === lostAt) {
      const half = s.data.length >> 1;
      p.onGap(0, half, s.ts);
      p.onData(0, s.data.subarray(half), s.ts);
    } else p.onData(s.dir, s.data, s.ts);
  }));
  // The lost record's exchange is gone; the next two client records are believed together,
  // once the second proves the boundary, and reported as one exchange that may lack its start.
  assert.equal(lossy.calls.length, 1);
  assert.equal(lossy.calls[0]!.incomplete, true);
  assert.equal(lossy.calls[0]!.request.records, 2);
  assert.equal(lossy.stats['tls.gaps'], 1);
  assert.equal(lossy.stats['tls.malformed'] ?? 0, 0);
  assert.equal(lossy.stats['tls.midstream.records.application_data'], whole.stats['tls.midstream.records.application_data'] - 1);
});

test('AMQP publisher and consumer joined mid-connection, clients on the lower port: every publish, delivery and ack, marked mid-stream', async () => {
  const { entries, stats } = await entriesFromCapture(`${midstream}amqp.pcap`);
  assertValidEntries(entries);
  assert.equal(stats['tcp.connectionsMidstream'], 2);
  assert.equal(stats['engine.unclaimedConnections'] ?? 0, 0);
  const e = entries as AnyRecord[];
  assert.ok(e.every((x) => x.protocol === 'amqp' && x.midstream === true));
  const publishes = e.filter((x) => x.request.method === 'basic.publish');
  const deliveries = e.filter((x) => x.request.method === 'basic.deliver');
  const acks = e.filter((x) => x.request.method === 'basic.ack');
  assert.equal(e.length, 9);
  assert.deepEqual(publishes.map((x) => [x.src.port, x.dst.port, x.request.routingKey, JSON.parse(x.request.body).order]),
    [1, 2, 3].map((n) => [40672, 45672, 'shipments', `order-${n}`]));
  // basic.deliver is the broker's: from the server side to the consumer.
  assert.deepEqual(deliveries.map((x) => [x.src.port, x.dst.port, JSON.parse(x.request.body).order]), [1, 2, 3].map((n) => [45672, 40673, `order-${n}`]));
  assert.deepEqual(acks.map((x) => [x.src.port, x.request.deliveryTag]), deliveries.map((d) => [40673, d.request.deliveryTag]));
});

test('live: entries of quiet connections joined mid-stream come as their bytes do, not when the input ends', async () => {
  // What held them back: Kafka's boundary scan stays undecided on a few KiB of any binary
  // stream, and registry order used to make every later detector wait for it.
  const publisher = (await segments(`${midstream}amqp.pcap`, 45672)).filter((s) => s.dir === 0);
  const probe = { client: Buffer.concat(publisher.map((s) => s.data)), server: Buffer.alloc(0), clientPort: 40672, serverPort: 45672, midstream: true };
  assert.equal(detectKafka(probe), 'more');
  for (const file of ['amqp.pcap', 'tls.pcap', 'grpc.pcap']) {
    const { live, flushed } = await liveAndFlushed(`${midstream}${file}`);
    assert.ok(live.length > 0, file);
    assert.deepEqual(flushed.map((e) => e.summary), [], `${file}: entries held until the end of input`);
  }
});

test('no other capture in testdata is taken for TLS records, and only connections joined mid-stream are marked so', async () => {
  const files = discoverCaptures().filter((f) => f.name !== 'midstream/tls.pcap');
  assert.ok(files.length > 20, `${files.length} captures`);
  for (const { path, name } of files) {
    const { entries, stats } = await entriesFromCapture(path);
    assert.deepEqual(entries.filter((e) => e.protocol === 'tls' && e.midstream).map((e) => e.summary), [], name);
    assert.deepEqual(Object.keys(stats).filter((k) => k.startsWith('tls.midstream.')), [], name);
    if ((stats['tcp.connectionsMidstream'] ?? 0) === 0) assert.equal(entries.filter((e) => e.midstream).length, 0, name);
  }
});
