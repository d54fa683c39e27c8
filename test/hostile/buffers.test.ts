// Unfinished messages left in the parsers of many connections at once, made by the test: HTTP/1
// heads without their end, Redis arrays whose elements keep coming, Kafka frames announced
// larger than what is sent, TLS ClientHellos cut short. The parse buffers are charged to the
// memory budget (a small one here, so that a few seconds' capture reaches it): the largest are
// shed, the loss counted by reason, and the reader stays within RSS_LIMIT_KB.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { partialMessages } from './shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-buffers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Kafka resynchronises after each shed by scanning for a frame start, which costs more per
// byte than the others: fewer connections keep it to a few seconds.
const cases = [
  { protocol: 'http1', connections: 600, bytes: 60 * 1024, counter: 'http1.bytes' },
  { protocol: 'http2', connections: 300, bytes: 200 * 1024, counter: 'http2.bytes' },
  { protocol: 'redis', connections: 600, bytes: 200 * 1024, counter: 'redis.bytes' },
  { protocol: 'kafka', connections: 150, bytes: 200 * 1024, counter: 'kafka.bytes' },
  { protocol: 'tls', connections: 600, bytes: 60 * 1024, counter: 'tls' },
] as const;

for (const { protocol, connections, bytes, counter } of cases) {
  test(`${protocol}: ${connections} connections each holding an unfinished ${bytes / 1024} KiB message: the budget sheds the largest, counted`, async () => {
    const path = join(dir, `partial-${protocol}.pcap`);
    partialMessages(path, { protocol, connections, bytes });
    const run = await readMeasured([path, '--memory-budget', '64MiB', '-o', 'summary']);
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    const shed = Object.entries(run.figures).filter(([name]) => name.startsWith(counter) && /Shed|Dropped|shed/.test(name));
    assert.ok(shed.length > 0, describeRun(run));
    assert.ok(figure(run, 'memory.shedBytes.app.buffers') + figure(run, 'memory.refused.app.buffers') > 0, describeRun(run));
  });
}
