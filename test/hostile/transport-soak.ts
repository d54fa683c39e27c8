// The transport shapes of issue 8 at the sizes the issue measured (1,000,000 connections,
// 1,000,000 DNS clients, 3,000 x 128 KB holes) and a few larger, each streamed into the
// built CLI with the default memory budget, output through a pipe. One line per shape: peak
// RSS, time, entries and what was given up; exits 1 if any shape passed 300 MB or failed.
// Usage: node --import tsx test/hostile/transport-soak.ts [name-substring...]
// (the transport half of `make soak`; test/hostile/soak.ts is the application half)
import { PEAK_RSS_LIMIT_MB, runHostile } from './stream-run.js';
import type { PcapStream } from './pcap-stream.js';
import * as shapes from './transport-shapes.js';

const soaks: Array<{ name: string; generate: (w: PcapStream) => Promise<void>; output?: 'pipe' | 'file' }> = [
  { name: 'holes 3,000 connections x 128 KB (requests)', generate: (w) => shapes.holes(w, { connections: 3000, behind: 128 * 1024 }) },
  { name: 'holes 3,000 connections x 128 KB (responses, output to a file)', generate: (w) => shapes.holes(w, { connections: 3000, behind: 128 * 1024, direction: 'server' }), output: 'file' },
  { name: 'holes 20,000 connections x 64 KB', generate: (w) => shapes.holes(w, { connections: 20_000, behind: 64 * 1024 }) },
  { name: 'holes 1 connection x 1 GB', generate: (w) => shapes.holes(w, { connections: 1, behind: 1e9, segment: 60000 }) },
  { name: 'SYN + partial HTTP request x 1,000,000', generate: (w) => shapes.synAndPartialRequest(w, { connections: 1_000_000 }) },
  { name: 'SYN + 300 unclaimed bytes x 1,000,000', generate: (w) => shapes.synAndPartialRequest(w, { connections: 1_000_000, opaque: true }) },
  { name: 'DNS 1,000,000 unanswered queries, distinct clients', generate: (w) => shapes.unansweredDns(w, { queries: 1_000_000 }) },
  { name: 'fragments 1,000,000 first fragments of 1,400 B', generate: (w) => shapes.incompleteFragments(w, { datagrams: 1_000_000, size: 1400 }) },
  { name: 'spoofed RSTs 10,000 calls', generate: (w) => shapes.spoofedResets(w, { calls: 10_000, distance: 1e9, from: 'server' }) },
];

const filters = process.argv.slice(2);
let failed = 0;
for (const soak of soaks.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)))) {
  const started = process.hrtime.bigint();
  const r = await runHostile(soak.generate, { output: soak.output });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const ok = r.code === 0 && r.peakRssMB <= PEAK_RSS_LIMIT_MB;
  if (!ok) failed += 1;
  const figures = Object.entries(r.counters).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${soak.name}: ${(r.captureBytes / 1e6).toFixed(0)} MB capture, peak RSS ${r.peakRssMB.toFixed(0)} MB, ${seconds.toFixed(1)} s, ${r.lines} entries, exit ${r.code}\n       ${figures}`);
}
process.exit(failed > 0 ? 1 : 0);
