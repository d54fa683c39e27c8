// The Kafka dissector on real client bytes: a public capture of kafka-python and a real
// broker, and kafkajs + kcat (librdkafka) against the stand-in broker (testdata/kafka/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { detectKafka } from '../../src/protocols/kafka/detect.js';
import { KafkaParser } from '../../src/protocols/kafka/parser.js';
import { recordingContext } from '../helpers/context.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { ourRequestCounts, tsharkRequestCounts } from './kafka-helpers.js';

const shared = new URL('../../testdata/kafka/kafka-produce-metadata.pcap', import.meta.url).pathname;
const clients = new URL('../../testdata/kafka/clients.pcap', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(new URL('../../testdata/kafka/clients.expected.json', import.meta.url), 'utf8'));
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).error === undefined;

type Rec = { key: { body: string } | null; value: { body: string } | null };
type Part = { topic: string; codec: string; records: Rec[]; errorCode?: number };

test('public capture (kafka-python, real broker): Metadata v0 and Produce v1 with its message', async () => {
  const { entries } = await entriesFromCapture(shared);
  assertValidEntries(entries);
  assert.deepEqual(entries.map((e) => e.summary), ['Metadata v0 test', 'Produce v1 test (1 record)']);
  const [metadata, produce] = entries;
  assert.equal(metadata.request.clientId, 'kafka-python-producer-1');
  assert.deepEqual(metadata.request.topics, ['test']);
  assert.deepEqual(metadata.response?.brokers, [{ nodeId: 0, host: 'VM_9_227_centos', port: 9092 }]);
  const parts = produce.request.partitions as Part[];
  assert.equal(parts[0].codec, 'none');
  assert.match(parts[0].records[0].value?.body ?? '', /^\{"agent": \{"ephemeral_id"/);
  assert.equal((produce.response?.partitions as Part[])[0].errorCode, 0);
  assert.equal(produce.response?.correlationId, produce.request.correlationId);
});

test('kafkajs and kcat against the stand-in broker: every request decoded and paired', async () => {
  const { entries, stats } = await entriesFromCapture(clients);
  assertValidEntries(entries);
  entries.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  assert.equal(entries.length, expected.length);
  entries.forEach((e, i) => {
    const want = expected[i];
    assert.equal(e.protocol, 'kafka');
    assert.equal(e.request.apiKey, want.apiKey);
    assert.equal(e.request.apiVersion, want.apiVersion);
    assert.equal(e.request.clientId, want.clientId);
    assert.equal(e.request.correlationId, want.correlationId);
    assert.deepEqual(e.request.topics ?? null, want.topics);
    assert.ok(e.response, `${e.summary} has its response`);
    assert.equal(e.response.correlationId, want.correlationId);
    if (want.records) {
      const parts = e.request.partitions as Part[];
      assert.deepEqual(parts.map((p) => p.codec), want.codecs);
      assert.deepEqual(parts.flatMap((p) => p.records.map((r) => [r.key?.body ?? null, r.value?.body])), want.records);
    }
    if (want.responseRecords) {
      const parts = e.response.partitions as Part[];
      assert.deepEqual(parts.flatMap((p) => p.records.map((r) => r.key?.body)), want.responseRecords);
    }
  });
  // kafkajs's first produce carries record headers; its second is gzip, inflated.
  const produces = entries.filter((e) => e.request.apiKey === 'Produce');
  const first = (produces[0].request.partitions as (Part & { records: { headers?: Record<string, string> }[] })[])[0];
  assert.deepEqual(first.records[0].headers, { 'trace-id': 'abc123', source: 'web' });
  assert.equal(stats['kafka.malformedRequest'] ?? 0, 0);
  assert.equal(stats['kafka.malformedResponse'] ?? 0, 0);
});

test('clients.expected.json is what tshark reads in the capture (derive-clients-expected.mjs)', (t) => {
  if (!hasTshark) return t.skip('tshark not installed: cannot derive the expected file');
  const script = new URL('../../testdata/kafka/derive-clients-expected.mjs', import.meta.url).pathname;
  const derived = JSON.parse(spawnSync(process.execPath, [script, clients, '19092'], { encoding: 'utf8' }).stdout);
  assert.deepEqual(derived, expected);
});

test('per api key and version, request counts agree with tshark', async (t) => {
  if (!hasTshark) return t.skip('tshark not installed: cannot compare with it');
  for (const [path, port] of [[clients, 19092], [shared, 9092]] as const) {
    const { entries } = await entriesFromCapture(path);
    assert.deepEqual(
      [...ourRequestCounts(entries)].sort(),
      [...tsharkRequestCounts(path, port)].sort(),
      `api key counts differ on ${path}`,
    );
  }
});

test('detection refuses other protocols; a corrupt size is counted and never thrown', () => {
  const probe = (client: string | Buffer, server = '') => ({
    client: Buffer.isBuffer(client) ? client : Buffer.from(client),
    server: Buffer.from(server),
    clientPort: 40000,
    serverPort: 19092,
    midstream: false,
  });
  assert.equal(detectKafka(probe('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')), 'no');
  assert.equal(detectKafka(probe('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 'no');
  assert.equal(detectKafka(probe('*1\r\n$4\r\nPING\r\n', '+PONG\r\n')), 'no');
  // Hand-made: a size prefix of -1 in the middle of a connection.
  const ctx = recordingContext();
  const { calls, stats } = ctx;
  const p = new KafkaParser(ctx);
  p.onData(0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3]), 1);
  p.onEnd(2);
  assert.equal(stats.get('kafka.badFrameSize'), 1);
  assert.equal(calls.length, 0);
});
