// `make soak`: the hostile shapes of issue 8 at the sizes the issue measured them (and the
// spreads the tests use at a few seconds' size), each read by the built CLI with the default
// memory budget, output through a pipe (the application half of `make soak`; transport-soak.ts
// is the transport half). Prints one line per shape: peak RSS, time, entries,
// and what was shed; exits 1 if any shape passed RSS_LIMIT_KB or did not exit 0.
// Usage: node --import tsx test/hostile/soak.ts [name-substring...]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RSS_LIMIT_KB, readMeasured } from './measure.js';
import * as shapes from './shapes.js';

interface Soak {
  name: string;
  write(path: string): void;
  args?: string[];
}

const soaks: Soak[] = [
  { name: 'hpack 500 blocks x 16,000 refs (prior, requests)', write: (p) => shapes.hpackAmplification(p, { transport: 'prior', direction: 'request', spread: 'streams', blocks: 500, refs: 16_000 }) },
  { name: 'hpack 500 blocks x 16,000 refs (h2c, responses, connections)', write: (p) => shapes.hpackAmplification(p, { transport: 'h2c', direction: 'response', spread: 'connections', blocks: 500, refs: 16_000 }) },
  { name: 'continuation 3,000,000 empty frames', write: (p) => shapes.continuationFlood(p, { transport: 'prior', direction: 'request', frames: 3_000_000, streams: 1 }) },
  { name: 'bodies 5,000 x 64 KiB http1 requests', write: (p) => shapes.unfinishedBodies(p, { protocol: 'http1', direction: 'request', count: 5000, bodyBytes: 65536 }) },
  { name: 'bodies 5,000 x 64 KiB http1 responses', write: (p) => shapes.unfinishedBodies(p, { protocol: 'http1', direction: 'response', count: 5000, bodyBytes: 65536 }) },
  { name: 'bodies 5,000 x 64 KiB http2 streams', write: (p) => shapes.unfinishedBodies(p, { protocol: 'http2', transport: 'prior', spread: 'streams', direction: 'request', count: 5000, bodyBytes: 65536 }) },
  { name: 'bodies 5,000 x 64 KiB http2 connections (h2c, responses)', write: (p) => shapes.unfinishedBodies(p, { protocol: 'http2', transport: 'h2c', spread: 'connections', direction: 'response', count: 5000, bodyBytes: 65536 }) },
  { name: 'grpc 8 x 4 MiB messages', write: (p) => shapes.grpcLargeMessages(p, { transport: 'prior', direction: 'response', calls: 1, messages: 8, size: 4 * 1024 * 1024 }) },
  { name: 'redis 1,000,000 pipelined, unanswered', write: (p) => shapes.pipelined(p, { protocol: 'redis', commands: 1_000_000, replies: false }) },
  { name: 'http1 1,000,000 pipelined, unanswered', write: (p) => shapes.pipelined(p, { protocol: 'http1', commands: 1_000_000, replies: false }) },
  { name: 'tls 65 KB hello in five records x 100', write: (p) => shapes.tlsHandshakes(p, { connections: 100, helloBytes: 65_000, recordBytes: 13_000 }) },
  { name: 'tls 65 KB hello in 1-byte records x 20', write: (p) => shapes.tlsHandshakes(p, { connections: 20, helloBytes: 65_000, recordBytes: 1 }) },
  { name: 'kafka first Produce of 64 KB x 100', write: (p) => shapes.kafkaLargeFirstRequest(p, { connections: 100, produceBytes: 65_536, handshake: true }) },
  { name: 'grpc joined late, 100 KB messages', write: (p) => shapes.grpcJoinedLate(p, { streams: 20, messages: 20, size: 100_000, clientPort: 55000 }) },
  { name: 'partial http1 heads 5,000 x 60 KiB', write: (p) => shapes.partialMessages(p, { protocol: 'http1', connections: 5000, bytes: 60 * 1024 }) },
  { name: 'partial redis messages 2,000 x 200 KiB', write: (p) => shapes.partialMessages(p, { protocol: 'redis', connections: 2000, bytes: 200 * 1024 }) },
];

const filters = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'tap-soak-'));
let failed = 0;
try {
  for (const soak of soaks.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)))) {
    const path = join(dir, 'capture.pcap');
    soak.write(path);
    const size = statSync(path).size;
    const started = process.hrtime.bigint();
    const run = await readMeasured([path, '-o', 'summary', ...(soak.args ?? [])], { timeoutMs: 600_000 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const shed = Object.entries(run.figures).filter(([k]) => !k.startsWith('engine.frames')).map(([k, v]) => `${k}=${v}`).join(' ');
    const ok = run.code === 0 && run.peakRssKb <= RSS_LIMIT_KB;
    if (!ok) failed += 1;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${soak.name}: ${(size / 1e6).toFixed(0)} MB capture, peak RSS ${Math.round(run.peakRssKb / 1024)} MB, ${seconds.toFixed(1)} s, ${run.entries} entries, exit ${run.code}\n       ${shed}`);
    rmSync(path, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed > 0 ? 1 : 0);
