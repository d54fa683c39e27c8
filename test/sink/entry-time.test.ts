import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoMicros } from '../../src/entry.js';

test('timestamps are ISO-8601 UTC with microseconds, clamped to four-digit years', () => {
  assert.equal(isoMicros(1795652554252123), '2026-11-26T00:22:34.252123Z');
  assert.equal(isoMicros(1795652554000007), '2026-11-26T00:22:34.000007Z');
  assert.equal(isoMicros(0), '1970-01-01T00:00:00.000000Z');
  // What corrupt capture records can say: negative, NaN, far future.
  assert.equal(isoMicros(-5), '1970-01-01T00:00:00.000000Z');
  assert.equal(isoMicros(Number.NaN), '1970-01-01T00:00:00.000000Z');
  assert.equal(isoMicros(1e20), '9999-12-31T23:59:59.000000Z');
  assert.equal(isoMicros(253402300799999999), '9999-12-31T23:59:59.000000Z');
});
