// The engine against real HTTP/1.x captures (testdata/http1, recorded by record.sh): every
// capture's entries must match the ground truth the recording server logged and tshark read
// (NAME.expected.json): transaction count, counts by method and status, the key fields of a
// handful of specific requests, and no parse trouble. Redaction and --max-body are checked on
// the Ethernet capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import type { Entry } from '../../src/entry.js';

const dir = fileURLToPath(new URL('../../testdata/http1/', import.meta.url));

interface ExpectedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  httpVersion: string;
  status: number;
  requestBodySize: number;
  responseBodySize: number;
  contentEncoding?: string;
  responseBodyWireSize?: number;
  responseTrailers?: Record<string, string>;
}

interface Expected {
  capture: string;
  transactions: number;
  /** tshark's frame.time_epoch of the first request, nine decimals whatever the file's resolution. */
  firstRequestEpoch: string;
  tolerance: number;
  methods: Record<string, number>;
  statuses: Record<string, number>;
  requests: ExpectedRequest[];
}

const expectedFiles = readdirSync(dir).filter((f) => f.endsWith('.expected.json')).sort();

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** "1795652826.973012479" -> "2026-11-26T00:27:06.973012Z": truncated to microseconds like entries. */
function epochToIsoMicros(epoch: string): string {
  const [seconds, fraction = ''] = epoch.split('.');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction.padEnd(6, '0').slice(0, 6)}Z`;
}

const req = (e: Entry) => e.request as Record<string, unknown>;
const res = (e: Entry) => e.response as Record<string, unknown> | null;

function sameQuery(actual: unknown, expected: Record<string, unknown>): boolean {
  try {
    assert.deepStrictEqual(actual ?? {}, expected);
    return true;
  } catch {
    return false;
  }
}

/** The first entry in time order with this method, path and query. */
function findEntry(entries: Entry[], want: ExpectedRequest): Entry | undefined {
  return [...entries]
    .sort((a, b) => a.timestamp.localeCompare(b.timestamp))
    .find((e) => req(e).method === want.method && req(e).path === want.path && sameQuery(req(e).query, want.query));
}

test('every HTTP/1 capture has an expected file', () => {
  const captures = readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
  const covered = expectedFiles.map((f) => (JSON.parse(readFileSync(`${dir}${f}`, 'utf8')) as Expected).capture).sort();
  assert.deepEqual(covered, captures);
  assert.ok(captures.length >= 10, `expected the ten captures of record.sh, found ${captures.length}`);
});

for (const file of expectedFiles) {
  const expected = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as Expected;

  test(`${expected.capture}: entries match the server's ground truth`, async () => {
    const { entries, stats } = await entriesFromCapture(`${dir}${expected.capture}`);
    assertValidEntries(entries);
    const http = entries.filter((e) => e.protocol === 'http');
    assert.equal(http.length, entries.length, 'only HTTP traffic was captured');
    assert.equal(stats['http1.malformed'] ?? 0, 0, 'no malformed input in real traffic');

    const diff = Math.abs(http.length - expected.transactions);
    assert.ok(diff <= expected.tolerance, `${http.length} entries, ground truth ${expected.transactions} (tolerance ${expected.tolerance})`);
    assert.deepEqual(countBy(http.map((e) => String(req(e).method))), expected.methods);
    assert.deepEqual(countBy(http.map((e) => String(res(e)?.status ?? 'no response'))), expected.statuses);
    // Every transaction of these captures was whole on the wire (the impaired one too: TCP
    // retransmitted what the bridge dropped), so none may be marked incomplete.
    assert.deepEqual(http.filter((e) => e.incomplete).map((e) => e.summary), []);

    // The time base: the first request's entry starts at its first captured byte, read at the
    // file's own resolution (the nanosecond capture and the pcapng's two tsresol values included).
    const earliest = http.map((e) => e.timestamp).sort()[0];
    assert.equal(earliest, epochToIsoMicros(expected.firstRequestEpoch), 'timestamp of the first request');

    for (const want of expected.requests) {
      const label = `${want.method} ${want.path} ${JSON.stringify(want.query)}`;
      const entry = findEntry(http, want);
      assert.ok(entry, `no entry for ${label}`);
      const response = res(entry);
      assert.ok(response, `${label}: no response`);
      assert.equal(req(entry).httpVersion, want.httpVersion, `${label}: httpVersion`);
      assert.equal(response.status, want.status, `${label}: status`);
      assert.equal(req(entry).bodySize, want.requestBodySize, `${label}: request bodySize`);
      assert.equal(response.bodySize, want.responseBodySize, `${label}: response bodySize`);
      const headers = response.headers as Record<string, string>;
      assert.equal(headers['content-encoding'], want.contentEncoding, `${label}: content-encoding`);
      if (want.contentEncoding !== undefined) assert.equal(response.bodyDecodeError, undefined, `${label}: decoded`);
      if (want.responseBodyWireSize !== undefined) {
        assert.equal(response.bodyWireSize, want.responseBodyWireSize, `${label}: response bodyWireSize`);
      }
      if (want.responseTrailers !== undefined) {
        assert.deepEqual(response.trailers, want.responseTrailers, `${label}: response trailers`);
      }
    }
  });
}

test('ethernet-mixed.pcap: the Authorization header and the "password" body key are redacted', async () => {
  const path = `${dir}ethernet-mixed.pcap`;
  const secrets = ['s3cr3t-t0ken', 'hunter2']; // what clients.mjs sent in POST /api/login

  const { entries } = await entriesFromCapture(path);
  assertValidEntries(entries);
  const login = entries.find((e) => req(e).method === 'POST' && req(e).path === '/api/login');
  assert.ok(login, 'no POST /api/login entry');
  assert.equal((req(login).headers as Record<string, string>).authorization, '[REDACTED]');
  const body = JSON.parse(String(req(login).body)) as Record<string, unknown>;
  assert.equal(body.password, '[REDACTED]');
  assert.equal(body.user, 'alice', 'keys that are not credentials stay');
  const all = JSON.stringify(entries);
  for (const secret of secrets) assert.ok(!all.includes(secret), `${secret} leaked into the entries`);

  // The same capture without redaction shows them: the check above looked at the right place.
  const raw = await entriesFromCapture(path, { redact: false });
  const rawLogin = raw.entries.find((e) => req(e).method === 'POST' && req(e).path === '/api/login');
  assert.ok(rawLogin);
  assert.equal((req(rawLogin).headers as Record<string, string>).authorization, 'Bearer s3cr3t-t0ken');
  assert.equal((JSON.parse(String(req(rawLogin).body)) as Record<string, unknown>).password, 'hunter2');
});

test('ethernet-mixed.pcap: --max-body keeps that many bytes of a large body and reports its exact size', async () => {
  const { entries } = await entriesFromCapture(`${dir}ethernet-mixed.pcap`, { maxBody: 1000 });
  assertValidEntries(entries);
  const big = entries.find((e) => req(e).path === '/big');
  assert.ok(big, 'no GET /big entry');
  const response = res(big);
  assert.ok(response, 'GET /big: no response');
  assert.equal(response.bodySize, 204800);
  assert.equal(response.bodyTruncated, true);
  assert.equal(String(response.body).length, 1000);
});
