// Hostile HTTP/2 header blocks, made by the test: HPACK amplification (one dynamic-table entry
// referenced thousands of times a block: a few bytes on the wire, megabytes decoded) and
// floods of CONTINUATION frames, over prior knowledge and h2c, in requests and responses,
// on many streams of one connection and on many connections. The reader must stay within
// RSS_LIMIT_KB, print every call, flag what it cut and count it in the end-of-run figures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { continuationFlood, hpackAmplification, type Direction, type Spread } from './shapes.js';
import type { H2Transport } from './h2-synth.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-h2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const amplified: [H2Transport, Direction, Spread][] = [
  ['prior', 'request', 'streams'],
  ['h2c', 'response', 'streams'],
  ['prior', 'response', 'connections'],
  ['h2c', 'request', 'connections'],
];

for (const [transport, direction, spread] of amplified) {
  test(`HPACK amplification (${transport}, ${direction}s, many ${spread}): a bounded header list per block, the rest counted`, async () => {
    // 60 blocks of 16,000 references to a 4 KB entry: 3.8 GB of decoded headers from 1 MB.
    const blocks = 60;
    const path = join(dir, `hpack-${transport}-${direction}-${spread}.pcap`);
    hpackAmplification(path, { transport, direction, spread, blocks, refs: 16_000 });
    const run = await readMeasured([path], { keep: (line) => line.includes('/amplified/') });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    const upgrades = transport === 'h2c' ? (spread === 'streams' ? 1 : blocks) : 0;
    assert.equal(run.entries, blocks + upgrades, describeRun(run));
    // Each entry keeps at most 64 KiB of header list (plus JSON quoting): no line is megabytes.
    assert.ok(run.longestLine < 200 * 1024, describeRun(run));
    const side = direction === 'request' ? 'request' : 'response';
    let droppedInEntries = 0;
    for (const entry of run.kept) {
      const half = entry[side] as Record<string, unknown>;
      assert.equal(half.headersTruncated, true, JSON.stringify(entry).slice(0, 300));
      droppedInEntries += half.headersDropped as number;
      // The fields that were kept are the first ones, whole.
      assert.equal(((half.headers as Record<string, string>)['x-big'] ?? '').split(', ')[0], 'a'.repeat(4000));
    }
    assert.equal(run.kept.length, 50, 'the first 50 entries were read back');
    const dropped = figure(run, 'http2.headerFieldsDropped');
    assert.ok(dropped >= droppedInEntries && dropped > blocks * 15_000, describeRun(run));
    assert.ok(figure(run, 'http2.headerBytesDropped') > blocks * 15_000 * 4000, describeRun(run));
  });
}

for (const [transport, direction] of [['prior', 'request'], ['h2c', 'response']] as const) {
  test(`a flood of empty CONTINUATION frames (${transport}, ${direction}): the block is given up on, counted, and the call still reported`, async () => {
    const frames = 1_000_000;
    const path = join(dir, `continuation-${transport}-${direction}.pcap`);
    continuationFlood(path, { transport, direction, frames, streams: 2 });
    const run = await readMeasured([path], { keep: () => true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    // Every frame of both floods is accounted for: 9 bytes each, plus the block's first bytes.
    assert.ok(figure(run, 'http2.headerBytesDropped.blockTooLarge') >= 2 * frames * 9, describeRun(run));
    assert.equal(figure(run, 'http2.headerBlocksTooLarge'), 2, describeRun(run));
    const calls = run.kept.filter((e) => e.protocol === 'http' && (e.request as { path?: string }).path !== '/');
    assert.equal(calls.length, 2, describeRun(run));
    for (const call of calls) assert.equal(call.incomplete, true);
  });
}
