// The HTTP/1 dissector through the whole engine on the real captures of testdata/http1/
// (recorded by testdata/http1/record.sh; expected fields come from the server's log and
// tshark, not from us): every listed request's key fields, counts, and no parse trouble.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { assertValidEntries } from '../helpers/schema.js';
import { entriesFromCapture } from '../helpers/engine.js';
import type { Entry } from '../../src/entry.js';

const dir = new URL('../../testdata/http1/', import.meta.url);

interface ExpectedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  httpVersion: string;
  status: number;
  requestBodySize: number;
  responseBodySize: number;
  responseTrailers?: Record<string, string>;
  contentEncoding?: string;
  responseBodyWireSize?: number;
}

interface Expected {
  capture: string;
  transactions: number;
  tolerance: number;
  requests: ExpectedRequest[];
}

const expectations: Expected[] = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.expected.json'))
      .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Expected)
  : [];

function matches(entry: Entry, want: ExpectedRequest): boolean {
  return entry.request.method === want.method && entry.request.path === want.path && JSON.stringify(sortKeys(entry.request.query)) === JSON.stringify(sortKeys(want.query));
}

function sortKeys(obj: unknown): unknown {
  return obj && typeof obj === 'object' && !Array.isArray(obj) ? Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a.localeCompare(b))) : obj;
}

describe('http1 dissector on testdata/http1 captures', () => {
  if (expectations.length === 0) it('captures', (t) => t.skip('testdata/http1 has no NAME.expected.json yet: nothing to check'));

  for (const expected of expectations) {
    it(expected.capture, async () => {
      const { entries, stats } = await entriesFromCapture(new URL(expected.capture, dir).pathname);
      assertValidEntries(entries);
      const http = entries.filter((e) => e.protocol === 'http');
      assert.ok(Math.abs(http.length - expected.transactions) <= expected.tolerance, `${http.length} entries, expected ${expected.transactions}`);
      assert.equal(stats['http1.malformed'] ?? 0, 0, 'no malformed input in real traffic');
      if (expected.tolerance === 0) assert.deepEqual(http.filter((e) => e.incomplete), [], 'nothing lost');
      for (const want of expected.requests) {
        const entry = http.find((e) => matches(e, want));
        const name = `${want.method} ${want.path} ${JSON.stringify(want.query)}`;
        assert.ok(entry, `an entry for ${name}`);
        const res = entry.response as Record<string, unknown>;
        assert.equal(entry.request.httpVersion, want.httpVersion, name);
        assert.equal(entry.request.bodySize, want.requestBodySize, name);
        assert.equal(res.status, want.status, name);
        assert.equal(res.bodySize, want.responseBodySize, name);
        if (want.responseTrailers) assert.deepEqual(res.trailers, want.responseTrailers, name);
        if (want.contentEncoding) {
          assert.equal((res.headers as Record<string, string>)['content-encoding'], want.contentEncoding, name);
          assert.equal(res.bodyWireSize, want.responseBodyWireSize, name);
          assert.equal(res.bodyDecodeError, undefined, name);
        }
      }
    });
  }

  it('keeps --max-body bytes of a large body and reports its exact size', async (t) => {
    const path = new URL('ethernet-mixed.pcap', dir).pathname;
    if (!existsSync(path)) return t.skip('testdata/http1/ethernet-mixed.pcap not recorded yet');
    const { entries } = await entriesFromCapture(path, { maxBody: 1000 });
    assertValidEntries(entries);
    const big = entries.find((e) => e.request.path === '/big');
    assert.ok(big?.response);
    assert.equal(big.response.bodySize, 204800);
    assert.equal(big.response.bodyTruncated, true);
    assert.equal(String(big.response.body).length, 1000);
  });
});
