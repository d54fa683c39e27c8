// gRPC connections the capture joined long after their preface and SETTINGS, made by the
// test: calls already streaming when the capture began (only their DATA and trailers are
// seen, in 16 KiB frames too large to chain within the detection probe, or small ones), and a
// new call whose headers all reference the unknown HPACK table. Each call is reported, as
// gRPC, flagged incomplete, with its messages; none is lost for having begun earlier.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { grpcJoinedLate } from './shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-midstream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Large messages leave nothing in the first 16 KiB of either side that says which is the
// client: the reassembler's guess (the higher port) stands, so the client has the higher port here.
for (const [size, clientPort] of [[100, 40000], [100_000, 55000]] as const) {
  test(`gRPC joined mid-connection, calls in progress streaming ${size}-byte messages: every call reported`, async () => {
    const streams = 3;
    const path = join(dir, `grpc-late-${size}.pcap`);
    grpcJoinedLate(path, { streams, messages: 4, size, clientPort });
    const run = await readMeasured([path, '--max-body', '1MiB'], { keep: () => true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(figure(run, 'engine.unclaimedConnections'), 0, describeRun(run));
    assert.equal(run.entries, streams + 1, describeRun(run));
    for (const entry of run.kept) {
      assert.equal(entry.protocol, 'grpc', JSON.stringify(entry).slice(0, 300));
      assert.equal((entry.src as { port: number }).port, clientPort);
      assert.equal(entry.incomplete, true);
      assert.equal((entry.response as { grpcStatus: number }).grpcStatus, 0);
    }
    const inProgress = run.kept.slice(0, streams);
    for (const entry of inProgress) {
      const request = entry.request as { messageCount: number; messages: { size: number }[] };
      const response = entry.response as { messageCount: number };
      assert.equal(request.messageCount, 4);
      assert.equal(response.messageCount, 4);
      assert.equal(request.messages[0].size, size);
    }
  });
}
