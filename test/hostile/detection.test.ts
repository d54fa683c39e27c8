// Connections the detectors used to leave unclaimed, made by the test: TLS ClientHellos of
// 65 KB spread over several records, and hellos cut into 1-byte records (legal, and a known
// way past naive DPI), one record per segment or many; Kafka connections whose first request
// is larger than the detection probe. Each must be claimed and parsed, whatever the size of
// its first message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, describeRun, figure, readMeasured } from './measure.js';
import { kafkaLargeFirstRequest, tlsHandshakes } from './shapes.js';

const dir = mkdtempSync(join(tmpdir(), 'tap-hostile-detect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hellos = [
  { helloBytes: 65_000, recordBytes: 13_000, mss: undefined, what: 'a 65 KB ClientHello over five records' },
  { helloBytes: 65_000, recordBytes: 1, mss: undefined, what: 'a 65 KB ClientHello in 1-byte records' },
  { helloBytes: 3_000, recordBytes: 1, mss: 6, what: 'a ClientHello in 1-byte records, one record a segment' },
  { helloBytes: 300, recordBytes: 7, mss: 5, what: 'a small ClientHello in 7-byte records cut across segments' },
];

for (const { helloBytes, recordBytes, mss, what } of hellos) {
  test(`TLS: ${what} is detected and parsed`, async () => {
    const connections = 3;
    const path = join(dir, `tls-${helloBytes}-${recordBytes}-${mss ?? 'full'}.pcap`);
    tlsHandshakes(path, { connections, helloBytes, recordBytes, mss });
    const run = await readMeasured([path], { keep: () => true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(figure(run, 'engine.unclaimedConnections'), 0, describeRun(run));
    assert.deepEqual(run.kept.map((e) => [e.protocol, (e.request as { sni: string }).sni, (e.response as { cipher: string }).cipher]),
      [0, 1, 2].map((c) => ['tls', `host-${c}.svc.test`, 'TLS_AES_256_GCM_SHA384']), describeRun(run));
  });
}

for (const [size, joined, acks0] of [[64 * 1024, false, false], [200 * 1024, false, false], [64 * 1024, true, false], [64 * 1024, false, true]] as const) {
  const shape = `${joined ? ' (capture joined mid-connection)' : ''}${acks0 ? ' with acks=0 (never answered)' : ''}`;
  test(`Kafka: a connection whose first request is a valid ${size / 1024} KB Produce${shape} is claimed`, async () => {
    const path = join(dir, `kafka-${size}-${joined}-${acks0}.pcap`);
    kafkaLargeFirstRequest(path, { connections: 2, produceBytes: size, handshake: !joined, acks0 });
    const run = await readMeasured([path], { keep: () => true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.peakRssKb <= RSS_LIMIT_KB, describeRun(run));
    assert.equal(figure(run, 'engine.unclaimedConnections'), 0, describeRun(run));
    const produces = run.kept.filter((e) => e.protocol === 'kafka' && (e.request as { apiKey: string }).apiKey === 'Produce');
    assert.equal(produces.length, 4, describeRun(run));
    for (const p of produces) assert.ok(acks0 ? p.response === null && p.error === undefined : p.response !== null, 'paired with its response, or none for acks=0');
  });
}
