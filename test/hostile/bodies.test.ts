// Bodies and messages that are never finished or far larger than an entry keeps, made by the
// test: many concurrent uploads and downloads over HTTP/1 (a connection each) and HTTP/2 (a
// stream each on one connection, or a connection each, prior knowledge and h2c), and gRPC
// messages of megabytes. What is kept is charged to the memory budget (a small one here, so
// that it is reached within seconds): the budget sheds, the entries say so, the figures count
// it, the reader stays within RSS_LIMIT_KB, and --max-body bounds gRPC messages as any body.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { grpcLargeMessages, unfinishedBodies, type Direction, type Spread } from './shapes.js';
import type { H2Transport } from './h2-synth.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-bodies-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Small enough to be reached by a few seconds' capture, so shedding is what is tested. */
// A small budget (96 MiB, of which 24 MiB may be charged, the rest being the runtime's), and
// bodies kept up to 256 KiB: the bodies, not the 300 connections, are what fills it. (Not the
// smallest, 64 MiB: 8 MiB charged. An h2c connection honestly costs about 13 KB, TCP state,
// the HTTP/1 parser that hands over and the HTTP/2 connection with its HPACK tables, so 300
// of them would hold half of it and the connection table, not the bodies, would be shed.)
const BUDGET = ['--memory-budget', '96MiB', '--max-body', '256KiB'];

const shapes: { protocol: 'http1' | 'http2'; transport?: H2Transport; spread?: Spread; direction: Direction }[] = [
  { protocol: 'http1', direction: 'request' },
  { protocol: 'http1', direction: 'response' },
  { protocol: 'http2', transport: 'prior', spread: 'connections', direction: 'request' },
  { protocol: 'http2', transport: 'h2c', spread: 'connections', direction: 'response' },
  { protocol: 'http2', transport: 'h2c', spread: 'streams', direction: 'request' },
];

for (const shape of shapes) {
  const name = `${shape.protocol}${shape.transport ? ` ${shape.transport}` : ''}, ${shape.direction}s${shape.spread ? `, many ${shape.spread}` : ''}`;
  test(`300 unfinished bodies of 256 KiB (${name}): kept within the memory budget, the rest shed and counted`, async () => {
    const count = 300;
    const path = join(dir, `bodies-${name.replace(/\W+/g, '-')}.pcap`);
    unfinishedBodies(path, { ...shape, count, bodyBytes: 256 * 1024 });
    const run = await readMeasured([path, ...BUDGET], { keep: (line) => line.includes('"bodyShed":true'), keepLimit: 5 });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    const upgrades = shape.transport === 'h2c' ? (shape.spread === 'streams' ? 1 : count) : 0;
    assert.equal(run.entries, count + upgrades, describeRun(run));
    const protocol = shape.protocol;
    // 300 x 256 KiB = 75 MiB of bodies against 24 MiB held: most of it shed or refused.
    const shedBytes = figure(run, `${protocol}.bodyBytesShed`) + figure(run, `${protocol}.bodyBytesDropped.memoryBudget`);
    assert.ok(shedBytes > 30 * 1024 * 1024, describeRun(run));
    assert.ok(figure(run, 'memory.shedBytes.app.bodies') > 0 || figure(run, 'memory.refused.app.bodies') > 0, describeRun(run));
    assert.ok(run.kept.length > 0, 'entries flag the bodies the budget took');
    for (const entry of run.kept) {
      const half = entry[shape.direction] as Record<string, unknown>;
      assert.equal(half.bodyShed, true);
      assert.equal(half.bodySize, 256 * 1024, 'the size stays exact');
    }
  });
}

for (const direction of ['request', 'response'] as const) {
  test(`gRPC ${direction}s of 8 messages of 4 MiB: --max-body bounds what an entry shows, sizes exact`, async () => {
    const path = join(dir, `grpc-${direction}.pcap`);
    grpcLargeMessages(path, { transport: 'prior', direction, calls: 2, messages: 8, size: 4 * 1024 * 1024 });
    const run = await readMeasured([path], { keep: () => true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(run.entries, 2, describeRun(run));
    assert.ok(run.longestLine < 200 * 1024, describeRun(run));
    for (const entry of run.kept) {
      const half = entry[direction] as { messages: Record<string, unknown>[]; messageCount: number };
      assert.equal(half.messageCount, 8);
      assert.deepEqual(half.messages.map((m) => m.size), Array(8).fill(4 * 1024 * 1024));
      assert.equal(half.messages[0].bodyTruncated, true);
      assert.equal(Buffer.from(half.messages[0].body as string, 'base64').length, 64 * 1024);
      for (const later of half.messages.slice(1)) assert.equal(later.body, null);
    }
    assert.equal(figure(run, 'grpc.messageBytesCut.maxBody'), 2 * (8 * 4 * 1024 * 1024 - 64 * 1024), describeRun(run));
    const small = await readMeasured([path, '--max-body', '1KiB'], { keep: () => true });
    assert.ok(small.longestLine < 8 * 1024, describeRun(small));
  });
}
