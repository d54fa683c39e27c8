// Requests that pile up waiting for their answers, made by the test: pipelined Redis commands
// and HTTP/1.1 requests sent long before (or without) any reply, and HTTP/2 streams opened and
// never finished. Nothing may vanish: every request is an entry, those given up on say why and
// are counted, and the answers that do come still pair with their own requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { pipelined, unfinishedBodies } from './shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-pending-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const protocol of ['redis', 'http1'] as const) {
  test(`${protocol}: 200,000 pipelined requests, never answered: every one an entry, the oldest given up on and counted`, async () => {
    const commands = 200_000;
    const path = join(dir, `${protocol}-unanswered.pcap`);
    pipelined(path, { protocol, commands, replies: false });
    const run = await readMeasured([path, '-o', 'summary']);
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(run.entries, commands, describeRun(run));
    const shed = figure(run, protocol === 'redis' ? 'redis.requestsShed' : 'http1.exchangesShed');
    assert.equal(shed, commands - 1024, describeRun(run));
  });

  test(`${protocol}: 50,000 pipelined requests answered only after all were sent: answers still pair with their own requests`, async () => {
    const commands = 50_000;
    const path = join(dir, `${protocol}-late-answers.pcap`);
    pipelined(path, { protocol, commands, replies: true, connections: 2 });
    const run = await readMeasured([path], { keep: (line) => !line.includes('given up'), keepLimit: 5000 });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(run.entries, 2 * commands, describeRun(run));
    const skipped = figure(run, protocol === 'redis' ? 'redis.repliesSkipped' : 'http1.responsesSkipped');
    assert.equal(skipped, 2 * (commands - 1024), describeRun(run));
    // The 1024 requests still waiting on each connection got their own answers: k<i> -> v<i>.
    assert.equal(run.kept.length, 2 * 1024, describeRun(run));
    for (const entry of run.kept) {
      const request = entry.request as Record<string, unknown>;
      const response = entry.response as Record<string, unknown>;
      const key = protocol === 'redis' ? (request.args as string[])[0] : (request.path as string).slice(1);
      const answer = protocol === 'redis' ? response.value : response.body;
      assert.equal(answer, `v${key.slice(1)}`, JSON.stringify(entry));
    }
  });
}

for (const direction of ['request', 'response'] as const) {
  test(`HTTP/2: 3,000 streams on one connection whose ${direction} bodies never end: the oldest streams are given up on and reported`, async () => {
    const path = join(dir, `h2-streams-${direction}.pcap`);
    unfinishedBodies(path, { protocol: 'http2', transport: 'prior', spread: 'streams', direction, count: 3000, bodyBytes: 16 * 1024 });
    const run = await readMeasured([path, '-o', 'summary']);
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(run.entries, 3000, describeRun(run));
    assert.equal(figure(run, 'http2.streamsShed.tooManyOpen'), 2000, describeRun(run));
  });
}
