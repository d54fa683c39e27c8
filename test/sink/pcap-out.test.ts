// --pcap-out: the packets of the reported calls as pcapng, checked with tshark: without a
// filter tshark finds the same calls in it as in the original capture; with one, only the
// connections of the reported calls are there, whole; a packet captured twice is written once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const skip = !hasTshark && 'tshark not installed (make apt installs it)';

/** Lines tshark prints for the packets matching a display filter. */
function tshark(file: string, filter: string, extra: string[] = []): string[] {
  const r = spawnSync('tshark', ['-r', file, ...extra, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

function frameCount(file: string): number {
  return tshark(file, 'frame').length;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function pcapOut(capture: string, dir: string, args: string[] = []): Promise<{ out: string; entries: Json[]; summary: Json; stderr: string }> {
  const out = join(dir, 'out.pcapng');
  const summaryFile = join(dir, 's.json');
  const r = await runCli(['read', capture, '-q', '--pcap-out', out, '--summary-json', summaryFile, ...args]);
  assert.equal(r.code, 0, r.stderr);
  const entries: Json[] = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assertValidEntries(entries.slice());
  return { out, entries, summary: JSON.parse(readFileSync(summaryFile, 'utf8')), stderr: r.stderr };
}

/** One tshark pass over a file: per packet its ports and the calls tshark found in it. */
function dissect(file: string, decode: string[]): Array<{ ports: number[]; calls: number }> {
  const r = spawnSync('tshark', ['-r', file, ...decode, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'udp.srcport', '-e', 'udp.dstport',
    '-e', 'http.request.method', '-e', 'http2.headers.method', '-e', 'dns.flags.response'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const [ts, td, us, ud, http1, http2, dns] = line.split('\t');
    const count = (f?: string) => (f ? f.split(',').filter(Boolean).length : 0);
    const queries = dns ? dns.split(',').filter((v) => v === '0' || v === 'False').length : 0;
    return { ports: [ts, td, us, ud].filter(Boolean).map(Number), calls: count(http1) + count(http2) + queries };
  });
}

const CASES: Array<{ capture: string; decode?: string[] }> = [
  { capture: 'testdata/http1/ethernet-mixed.pcap' },
  { capture: 'testdata/http1/multi-interface.pcapng' },
  { capture: 'testdata/http2/h2c.pcap', decode: ['-d', 'tcp.port==18080,http2'] },
  { capture: 'testdata/mixed/mixed.pcap' },
  { capture: 'testdata/dns/queries.pcap' },
];

test('without a filter, tshark finds in the file the calls it finds in the capture, on the connections we report', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-pcap-'));
  try {
    for (const { capture, decode = [] } of CASES) {
      const source = join(repoRoot, capture);
      const { out, entries, summary, stderr } = await pcapOut(source, dir);
      assert.match(stderr, /^kubectl tap: --pcap-out \S+: writing raw packets, with the credentials and bodies that entries redact$/m, 'opt-in, and said even under -q');
      // The original's packets on the connections of our calls (by their two ports).
      const flows = new Set(entries.map((e) => [e.src.port, e.dst.port].sort().join(',')));
      const ours = dissect(source, decode).filter((p) => flows.has(p.ports.slice(0, 2).sort().join(',')));
      const written = dissect(out, decode);
      const calls = (rows: Array<{ calls: number }>) => rows.reduce((n, r) => n + r.calls, 0);
      assert.ok(calls(ours) > 0, capture);
      assert.equal(calls(written), calls(ours), `${capture}: the calls tshark finds`);
      assert.equal(written.length, ours.length, `${capture}: every packet of those connections, once`);
      assert.equal(summary.stats['pcapOut.packets'], written.length);
      const info = spawnSync('capinfos', ['-I', out], { encoding: 'utf8' }).stdout;
      assert.match(info, new RegExp(`Number of interfaces in file: ${capture.endsWith('multi-interface.pcapng') ? 2 : 1}`), `${capture}: one interface per link type of the source`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a filter, only the connections of the reported calls are in the file, whole', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-pcap-'));
  try {
    // One DNS query: its UDP flow only.
    const dns = join(repoRoot, 'testdata/dns/queries.pcap');
    const one = await pcapOut(dns, dir, ['-f', 'request.questions[0].name = "missing.internal.test"']);
    assert.equal(one.entries.length, 1);
    assert.equal(tshark(one.out, 'dns.qry.name == "missing.internal.test" && dns.flags.response == 0').length, 1);
    assert.equal(frameCount(one.out), 2, 'the query and its answer');
    // HTTP/1: the one connection that carried /legacy, from its SYN to its FIN.
    const http = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
    const legacy = await pcapOut(http, dir, ['-f', 'request.path = "/legacy"']);
    const port = legacy.entries[0].src.port;
    const whole = tshark(http, `tcp.port == ${port}`).length;
    assert.equal(frameCount(legacy.out), whole);
    assert.equal(tshark(legacy.out, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1, 'from the SYN');
    assert.equal(tshark(legacy.out, 'http.request').length, tshark(http, `tcp.port == ${port} && http.request`).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a packet captured on two interfaces is written once: tshark counts the calls of the original', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-pcap-'));
  try {
    const original = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
    const twice = join(dir, 'twice.pcapng');
    const m = spawnSync('mergecap', ['-F', 'pcapng', '-w', twice, original, original], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    assert.equal(frameCount(twice), 2 * frameCount(original));
    const { out, summary } = await pcapOut(twice, dir);
    const ipFrames = tshark(original, 'ip').length;
    assert.equal(frameCount(out), ipFrames);
    assert.equal(summary.stats['pcapOut.duplicates'], ipFrames);
    assert.equal(tshark(out, 'http.request').length, tshark(original, 'http.request').length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('live: once the entries stop, a kept connection\'s later packets (calls never reported) are not written', async () => {
  const { PcapOut } = await import('../../src/sink/pcap-out.js');
  const { flowKey } = await import('../../src/sink/flow-hold.js');
  const dir = mkdtempSync(join(tmpdir(), 'pcap-out-end-'));
  try {
    const out = new PcapOut(join(dir, 'live.pcapng'), 'live');
    const flow = flowKey('tcp', '10.0.0.1', 40000, '10.0.0.2', 80);
    const t0 = Date.UTC(2026, 11, 2, 1, 23, 9) * 1000;
    const packet = (offsetMicros: number) => ({ flow, closing: false, tsMicros: t0 + offsetMicros, linkType: 1, data: Buffer.alloc(60), originalLength: 60 });
    // A call from t0 to t0 + 2 ms is reported; its packets and the ones after it while the
    // entries still stream are written (their calls may be reported yet).
    out.observeStreamed('node-a', packet(0));
    out.observeStreamed('node-a', packet(2_000));
    out.add({ protocol: 'http', node: 'node-a', timestamp: '2026-12-02T01:23:09.000000Z', elapsedMs: 2, src: { ip: '10.0.0.1', port: 40000 }, dst: { ip: '10.0.0.2', port: 80 }, request: {} } as never);
    out.observeStreamed('node-a', packet(10_000));
    out.endOfEntries();
    // After the end: within the last call's slack is kept, later is a call never reported.
    out.observeStreamed('node-a', packet(2_500));
    out.observeStreamed('node-a', packet(20_000));
    out.observeStreamed('node-b', packet(0));
    out.close();
    assert.equal(out.counts.packets, 4);
    assert.equal(out.counts.packetsAfterLastCall, 2, 'the later packet of node-a, and node-b that reported no call');
    if (hasTshark) assert.equal(frameCount(join(dir, 'live.pcapng')), 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
