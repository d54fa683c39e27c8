// AMQP calls that pile up waiting for their answers, made by the test: synchronous requests
// (queue.declare) and confirmed publishes across many channels of one connection, never
// answered. The per-channel bounds (256 requests, 1,024 publishes) times 2,048 channels would
// hold far more than the memory budget; the budget must shed the oldest, and nothing may
// vanish: every call is an entry, those given up on say why, and they are counted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { amqpUnanswered } from './shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-amqp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const shapes = [
  { kind: 'requests', channels: 1024, perChannel: 128, waitingFor: 'reply' },
  { kind: 'publishes', channels: 512, perChannel: 256, waitingFor: 'confirm' },
] as const;

for (const shape of shapes) {
  const total = shape.channels * shape.perChannel;
  test(`AMQP: ${total} ${shape.kind} over ${shape.channels} channels, never answered: the oldest given up on at the memory budget and counted`, async () => {
    const path = join(dir, `amqp-${shape.kind}.pcap`);
    amqpUnanswered(path, { kind: shape.kind, channels: shape.channels, perChannel: shape.perChannel, nameBytes: 200 });
    const givenUp = `given up waiting for the ${shape.waitingFor}: memory budget`;
    const run = await readMeasured([path, '--memory-budget', '64MiB'], { keep: (line) => line.includes(givenUp), keepLimit: 1_000_000 });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    // Every call is an entry: those shed, and those still waiting when the connection ended.
    const setup = shape.kind === 'publishes' ? shape.channels : 0;
    assert.equal(run.entries, total + setup, describeRun(run));
    const shed = figure(run, 'amqp.callsShed');
    // 64 MiB leaves 8 MiB to charge: at least 1 KB a call, so at most about 8,000 are held.
    assert.ok(shed >= total - 8 * 1024, describeRun(run));
    assert.ok(shed < total, describeRun(run));
    assert.equal(run.kept.length, shed, describeRun(run));
    // Oldest first: the calls given up on are the first ones sent (round-robin over channels).
    const firstName = (run.kept[0].request as Record<string, unknown>)[shape.kind === 'requests' ? 'queue' : 'routingKey'];
    assert.match(String(firstName), /^q1-0-/, describeRun(run));
  });
}
