// The Kafka dissector on consumer groups, CreateTopics and flexible versions, with real client
// bytes: kafkajs (admin, producer, consumer group) and kcat/librdkafka (-L, -P, -C, -G)
// against the stand-in broker advertising flexible versions (testdata/kafka/groups.pcap).
// The expected results are the broker's journal: what an independent decoder parsed and
// answered while the capture was recorded (testdata/kafka/record-groups.sh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Entry } from '../../src/entry.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { assertSubset, callKey, ourRequestCounts, readJournal, tsharkRequestCounts } from './kafka-helpers.js';

const groups = new URL('../../testdata/kafka/groups.pcap', import.meta.url).pathname;
const oldBroker = new URL('../../testdata/kafka/old-broker.pcap', import.meta.url).pathname;
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).error === undefined;

function byCall(entries: readonly Entry[]): Map<string, Entry> {
  const map = new Map<string, Entry>();
  for (const e of entries) {
    const key = callKey(e.src.port, e.request.apiKeyCode, e.request.correlationId);
    assert.ok(!map.has(key), `one entry per call: ${key} twice`);
    map.set(key, e);
  }
  return map;
}

async function checkAgainstJournal(pcap: string, expected: string): Promise<Entry[]> {
  const journal = readJournal(new URL(`../../testdata/kafka/${expected}`, import.meta.url));
  const { entries, stats } = await entriesFromCapture(pcap);
  assertValidEntries(entries);
  assert.equal(entries.length, journal.length);
  const calls = byCall(entries);
  for (const want of journal) {
    const key = callKey(want.clientPort, want.request.apiKeyCode, want.request.correlationId);
    const e = calls.get(key);
    assert.ok(e, `entry for ${key} (${want.request.apiKey} v${want.request.apiVersion})`);
    assert.equal(e.protocol, 'kafka');
    assertSubset(e.request, want.request, `${key} request`);
    if (want.response === null) {
      assert.equal(e.response, null, `${key}: the client left before the answer`);
      assert.equal(e.error, 'connection ended before the response');
    } else assertSubset(e.response, want.response, `${key} response`);
    assert.equal(e.incomplete, undefined, `${key} is complete`);
  }
  for (const name of ['kafka.malformedRequest', 'kafka.malformedResponse', 'kafka.unmatchedResponse', 'kafka.gaps', 'kafka.internalError']) {
    assert.equal(stats[name] ?? 0, 0, name);
  }
  return entries;
}

test('groups.pcap: every request the broker read is one entry, field by field as the broker decoded it', async () => {
  await checkAgainstJournal(groups, 'groups.expected.json');
});

test('old-broker.pcap: ApiVersions v3 answered UNSUPPORTED_VERSION in a v0 body, then v0, then Metadata', async () => {
  const entries = await checkAgainstJournal(oldBroker, 'old-broker.expected.json');
  assert.deepEqual(entries.map((e) => e.summary), ['ApiVersions v3 -> UNSUPPORTED_VERSION', 'ApiVersions v0', 'Metadata v4', 'Metadata v4']);
});

test('groups.pcap covers the group protocol, CreateTopics, error codes and flexible versions', async () => {
  const { entries } = await entriesFromCapture(groups);
  const seen = new Set(entries.map((e) => `${e.request.apiKey} v${e.request.apiVersion}`));
  // kafkajs 2.2.4 tops out below every flexible version; librdkafka 2.0.2 uses flexible
  // ApiVersions v3 and OffsetFetch v7 (request header v2, response header v1, compact arrays).
  for (const call of [
    'CreateTopics v3', 'Produce v7', 'FindCoordinator v2', 'JoinGroup v5', 'SyncGroup v3', 'OffsetFetch v4', 'ListOffsets v3',
    'Fetch v11', 'OffsetCommit v5', 'Heartbeat v3', 'LeaveGroup v3', 'ApiVersions v3', 'OffsetFetch v7', 'OffsetCommit v7', 'LeaveGroup v1',
  ]) assert.ok(seen.has(call), `capture has ${call}`);
  const summaries = entries.map((e) => e.summary);
  // A first JoinGroup without a member id: the broker hands one out with MEMBER_ID_REQUIRED.
  const joins = entries.filter((e) => e.request.apiKey === 'JoinGroup' && e.request.clientId === 'billing-svc');
  assert.equal(joins[0].response?.error, 'MEMBER_ID_REQUIRED');
  assert.equal(joins[1].request.memberId, joins[0].response?.memberId);
  assert.ok(summaries.includes('JoinGroup v5 (group billing) -> MEMBER_ID_REQUIRED'), summaries.join('\n'));
  const created = entries.filter((e) => e.request.apiKey === 'CreateTopics');
  assert.deepEqual(created.map((e) => e.summary), ['CreateTopics v3 payments', 'CreateTopics v3 payments -> TOPIC_ALREADY_EXISTS']);
  // The records kafkajs produced come back in its consumer's Fetch, keys and values intact.
  const fetched = entries
    .filter((e) => e.request.clientId === 'billing-svc' && e.request.apiKey === 'Fetch')
    .flatMap((e) => (e.response?.partitions as { records: { key: { body: string }; value: { body: string } }[] }[]).flatMap((p) => p.records))
    .map((r) => `${r.key.body}=${r.value.body}`)
    .sort();
  assert.deepEqual(fetched, ['pay-1={"amount":120,"currency":"EUR"}', 'pay-2={"amount":75,"currency":"USD"}', 'pay-3={"amount":9,"currency":"EUR"}']);
});

test('per api key and version, request counts agree with tshark', async (t) => {
  if (!hasTshark) return t.skip('tshark not installed: cannot compare with it');
  for (const [path, port] of [[groups, 19093], [oldBroker, 19094]] as const) {
    const { entries } = await entriesFromCapture(path);
    assert.deepEqual([...ourRequestCounts(entries)].sort(), [...tsharkRequestCounts(path, port)].sort(), path);
  }
});
