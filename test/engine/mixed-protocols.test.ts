// One capture with several protocols at once on non-standard ports, plus TCP noise that is
// none of them (testdata/mixed/record.sh): every registered dissector finds exactly its own
// calls by content, and nothing is invented for the noise. A protocol whose dissector is not
// registered yet is reported loudly and must then give no entry at all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tcpDissectors, udpDissectors } from '../../src/protocols/registry.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

const capture = new URL('../../testdata/mixed/mixed.pcap', import.meta.url).pathname;
const expected: {
  protocols: Record<string, { dissector: string; port: number; summaries: string[] }>;
  noisePorts: number[];
} = JSON.parse(readFileSync(new URL('../../testdata/mixed/expected.json', import.meta.url), 'utf8'));

const registered = new Set([...tcpDissectors, ...udpDissectors].map((d) => d.name));

test('mixed capture: exactly the expected entries per protocol, none for the noise', async () => {
  const { entries, stats } = await entriesFromCapture(capture);
  assertValidEntries(entries);
  entries.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  const missing: string[] = [];
  for (const [protocol, want] of Object.entries(expected.protocols)) {
    const got = entries.filter((e) => e.dst.port === want.port);
    if (!registered.has(want.dissector)) {
      missing.push(`${protocol} (dissector '${want.dissector}')`);
      assert.equal(got.length, 0, `${protocol} traffic on ${want.port} was claimed by ${got[0]?.protocol}`);
      continue;
    }
    assert.ok(got.every((e) => e.protocol === protocol), `port ${want.port} gave ${got.map((e) => e.protocol).join(',')}`);
    assert.equal(got.length, want.summaries.length, `${protocol}: ${got.map((e) => e.summary).join(' | ')}`);
    got.forEach((e, i) => {
      assert.ok(e.summary.startsWith(want.summaries[i]), `${protocol} #${i}: "${e.summary}" should start with "${want.summaries[i]}"`);
      assert.ok(e.response !== null, `${protocol} #${i} has its response`);
    });
  }
  if (missing.length > 0) console.error(`\n*** mixed-protocols: NOT REGISTERED YET, not checked: ${missing.join(', ')} ***\n`);
  const noise = entries.filter((e) => expected.noisePorts.includes(e.dst.port) || expected.noisePorts.includes(e.src.port));
  assert.deepEqual(noise.map((e) => `${e.protocol} ${e.summary}`), [], 'noise became entries');
  const known = new Set(Object.values(expected.protocols).map((p) => p.port));
  assert.deepEqual(entries.filter((e) => !known.has(e.dst.port)).map((e) => e.summary), [], 'entries nobody expected');
  // Each noise connection is left unclaimed (so are those of protocols not registered yet).
  if (missing.length === 0) assert.equal(stats['engine.unclaimedConnections'], expected.noisePorts.length);
  else assert.ok(stats['engine.unclaimedConnections'] >= expected.noisePorts.length);
});
