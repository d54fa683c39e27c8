// docs/entry.schema.json can fail: real entries pass, and each kind of broken entry made from
// them is rejected (otherwise every "entries match the schema" check would prove nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Entry } from '../../src/entry.js';
import { repoRoot } from '../helpers/cli.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

type AnyRecord = Record<string, any>;

const captures = ['http1/ethernet-mixed.pcap', 'grpc/calls.pcap', 'redis/commands.pcap', 'kafka/clients.pcap', 'amqp/session.pcap', 'dns/queries.pcap', 'tls/handshakes.pcap'];

async function oneOfEach(): Promise<Map<string, Entry>> {
  const byProtocol = new Map<string, Entry>();
  for (const c of captures) {
    for (const e of (await entriesFromCapture(join(repoRoot, 'testdata', c))).entries) if (!byProtocol.has(e.protocol)) byProtocol.set(e.protocol, e);
  }
  return byProtocol;
}

const breakages: Record<string, (e: AnyRecord) => void> = {
  'a required field missing': (e) => delete e.summary,
  'an unknown top-level field': (e) => (e.extra = 1),
  'a wrong type': (e) => (e.elapsedMs = '3 ms'),
  'a timestamp that is not one': (e) => (e.timestamp = 'yesterday'),
  'a protocol that does not exist': (e) => (e.protocol = 'gopher'),
  'an endpoint without a port': (e) => delete e.dst.port,
  'a request that is not an object': (e) => (e.request = 'GET /'),
};

test('real entries of every protocol pass, and every broken copy of them is rejected', async () => {
  const entries = await oneOfEach();
  assert.deepEqual([...entries.keys()].sort(), ['amqp', 'dns', 'grpc', 'http', 'kafka', 'redis', 'tls']);
  assertValidEntries([...entries.values()]);
  for (const [protocol, entry] of entries) {
    for (const [what, breakIt] of Object.entries(breakages)) {
      const broken = structuredClone(entry) as AnyRecord;
      breakIt(broken);
      assert.throws(() => assertValidEntries([broken]), /does not match docs\/entry\.schema\.json/, `${protocol}: ${what} passed the schema`);
    }
  }
});

test('protocol-specific shapes are checked too, not only the envelope', async () => {
  const entries = await oneOfEach();
  const cases: [string, (e: AnyRecord) => void][] = [
    ['http', (e) => (e.response.status = '200')],
    ['http', (e) => (e.request.headers = ['host: x'])],
    ['grpc', (e) => (e.response.grpcStatus = 'OK')],
    ['redis', (e) => (e.request.args = 'GET key')],
    ['dns', (e) => (e.request.questions = 'A example.com')],
  ];
  for (const [protocol, breakIt] of cases) {
    const broken = structuredClone(entries.get(protocol)!) as AnyRecord;
    breakIt(broken);
    assert.throws(() => assertValidEntries([broken]), /does not match/, `${protocol}: ${breakIt.toString()} passed the schema`);
  }
});
