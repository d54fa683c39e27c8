// Kafka after a capture gap: groups.pcap rewritten without one TCP data segment (a request,
// then a response), run through the whole engine. The parser must resynchronise: later calls
// on the connection still match the broker's journal field by field, the affected call is
// missing or marked incomplete and counted, and no entry is invented.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Entry } from '../../src/entry.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { assertSubset, callKey, readJournal, tcpSegments, writeWithout, type JournalLine, type Segment } from './kafka-helpers.js';

const groups = new URL('../../testdata/kafka/groups.pcap', import.meta.url).pathname;
const journal = readJournal(new URL('../../testdata/kafka/groups.expected.json', import.meta.url));
const brokerPort = 19093;
const dir = mkdtempSync(join(tmpdir(), 'tap-kafka-gap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The one segment `pick` selects; the test is meaningless if it matches none or several. */
function onlySegment(pick: (s: Segment) => boolean): Segment {
  const found = tcpSegments(groups).filter(pick);
  assert.equal(found.length, 1, 'exactly one segment to drop');
  return found[0];
}

async function entriesWithout(seg: Segment, name: string): Promise<{ entries: Entry[]; stats: Record<string, number> }> {
  const path = join(dir, `${name}.pcap`);
  writeWithout(groups, new Set([seg.index]), path);
  const result = await entriesFromCapture(path);
  assertValidEntries(result.entries);
  return result;
}

/**
 * Every entry is a call the broker saw, and says nothing the broker did not: complete entries
 * match the journal in full, incomplete ones have the right request and no response.
 */
function checkAgainstJournal(entries: readonly Entry[]): Map<string, Entry> {
  const want = new Map<string, JournalLine>(journal.map((l) => [callKey(l.clientPort, l.request.apiKeyCode, l.request.correlationId), l]));
  const got = new Map<string, Entry>();
  for (const e of entries) {
    const key = callKey(e.src.port, e.request.apiKeyCode, e.request.correlationId);
    const line = want.get(key);
    assert.ok(line, `entry ${key} (${e.summary}) is a call the broker saw`);
    assert.ok(!got.has(key), `${key} once`);
    got.set(key, e);
    assertSubset(e.request, line.request, `${key} request`);
    if (e.incomplete) assert.equal(e.response, null, `${key}: an incomplete call invents no response`);
    else if (line.response === null) assert.equal(e.response, null);
    else assertSubset(e.response, line.response, `${key} response`);
  }
  return got;
}

test('a lost request segment (kafkajs SyncGroup): its answer is counted unmatched, every later call is exact', async () => {
  const seg = onlySegment(
    (s) => s.dstPort === brokerPort && s.payload.length >= 8 && s.payload.readInt32BE(0) + 4 === s.payload.length && s.payload.readInt16BE(4) === 14 && s.payload.includes('billing-svc'),
  );
  const { entries, stats } = await entriesWithout(seg, 'no-syncgroup');
  const got = checkAgainstJournal(entries);
  const lost = callKey(seg.srcPort, 14, seg.payload.readInt32BE(8));
  assert.ok(!got.has(lost), 'the lost request gives no entry');
  assert.equal(entries.length, journal.length - 1);
  assert.equal(entries.filter((e) => e.incomplete).length, 0);
  assert.equal(stats['kafka.gaps'], 1);
  assert.equal(stats['kafka.unmatchedResponse'], 1, 'the SyncGroup answer has no request to pair with');
  // The same connection goes on: OffsetFetch, OffsetCommit, Heartbeat and LeaveGroup are all there.
  const later = entries.filter((e) => e.src.port === seg.srcPort && Number(e.request.correlationId) > seg.payload.readInt32BE(8));
  assert.deepEqual([...new Set(later.map((e) => e.request.apiKey))].sort(), ['Heartbeat', 'LeaveGroup', 'ListOffsets', 'OffsetCommit', 'OffsetFetch']);
});

test('a lost response segment (the Fetch carrying the records): that Fetch is incomplete, the next Fetches are exact', async () => {
  const seg = onlySegment((s) => s.srcPort === brokerPort && s.payload.includes('pay-1'));
  const { entries, stats } = await entriesWithout(seg, 'no-fetch-response');
  const got = checkAgainstJournal(entries);
  const corr = seg.payload.readInt32BE(4);
  const hit = got.get(callKey(seg.dstPort, 1, corr));
  assert.ok(hit, 'the Fetch whose answer was lost is still reported');
  assert.equal(hit.incomplete, true);
  assert.equal(hit.response, null);
  assert.equal(entries.length, journal.length);
  assert.equal(entries.filter((e) => e.incomplete).length, 1);
  assert.equal(stats['kafka.gaps'], 1);
  assert.equal(stats['kafka.malformedResponse'] ?? 0, 0);
  const laterFetches = entries.filter((e) => e.src.port === seg.dstPort && e.request.apiKey === 'Fetch' && !e.incomplete && e.response !== null);
  assert.ok(laterFetches.length >= 2, 'later Fetches on the connection are paired with their answers');
});
