// One capture with several protocols at once on non-standard ports, plus TCP noise that is
// none of them (testdata/mixed/record.sh): every dissector finds exactly its own calls by
// content, and nothing is invented for the noise.
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
  for (const [protocol, want] of Object.entries(expected.protocols)) {
    assert.ok(registered.has(want.dissector), `no dissector '${want.dissector}' in the registry for ${protocol}`);
    const got = entries.filter((e) => e.dst.port === want.port);
    assert.ok(got.every((e) => e.protocol === protocol), `port ${want.port} gave ${got.map((e) => e.protocol).join(',')}`);
    assert.equal(got.length, want.summaries.length, `${protocol}: ${got.map((e) => e.summary).join(' | ')}`);
    got.forEach((e, i) => {
      assert.ok(e.summary.startsWith(want.summaries[i]), `${protocol} #${i}: "${e.summary}" should start with "${want.summaries[i]}"`);
      assert.ok(e.response !== null, `${protocol} #${i} has its response`);
    });
  }
  const noise = entries.filter((e) => expected.noisePorts.includes(e.dst.port) || expected.noisePorts.includes(e.src.port));
  assert.deepEqual(noise.map((e) => `${e.protocol} ${e.summary}`), [], 'noise became entries');
  const known = new Set(Object.values(expected.protocols).map((p) => p.port));
  assert.deepEqual(entries.filter((e) => !known.has(e.dst.port)).map((e) => e.summary), [], 'entries nobody expected');
  // Each noise connection, and nothing else, is left unclaimed.
  assert.equal(stats['engine.unclaimedConnections'], expected.noisePorts.length);
});
