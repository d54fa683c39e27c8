// The edges' p50/p99 come from a constant-memory histogram: within 1% of the exact
// nearest-rank quantiles, on latencies spread over six orders of magnitude.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../../src/sink/latency.js';

test('p50 and p99 are within 1% of the exact values, min and max exact, merging is adding', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const values = Array.from({ length: 20000 }, () => 0.001 * 10 ** (random() * 6));
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  values.forEach((v, i) => (i % 2 ? a : b).add(v));
  a.merge(b);
  assert.equal(a.samples, values.length);
  const sorted = [...values].sort((x, y) => x - y);
  for (const q of [0.01, 0.5, 0.9, 0.99, 0.999]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    const got = a.quantile(q)!;
    assert.ok(Math.abs(got - exact) <= exact * 0.01, `q${q}: ${got} against ${exact}`);
  }
  assert.equal(a.quantile(1), sorted.at(-1));
  assert.equal(a.quantile(0), sorted[0]);
  assert.equal(new LatencyHistogram().quantile(0.5), null);
  const zero = new LatencyHistogram();
  zero.add(0);
  assert.equal(zero.quantile(0.5), 0);
});
