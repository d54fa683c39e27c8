// The DNS dissectors (UDP and TCP) on dig talking to dnsmasq: the recorded capture against
// its expected entries and tshark, a fresh live recording in a network namespace (root), and
// the malformed cases that must be refused (pointer loops, mDNS-like noise).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Entry } from '../../src/entry.js';
import { isClientQuery, parseDnsMessage } from '../../src/protocols/dns/message.js';
import { dnsUdpDissector } from '../../src/protocols/dns/udp.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

const capture = new URL('../../testdata/dns/queries.pcap', import.meta.url).pathname;
const recordScript = new URL('../../testdata/dns/record.sh', import.meta.url).pathname;
const expected: { transport: string; name: string; type: string; rcode: string; answers: string[] }[] = JSON.parse(
  readFileSync(new URL('../../testdata/dns/queries.expected.json', import.meta.url), 'utf8'),
);

function have(cmd: string, arg = '--version'): boolean {
  return spawnSync(cmd, [arg], { stdio: 'ignore' }).error === undefined;
}

function checkAgainstExpected(entries: Entry[]): void {
  assertValidEntries(entries);
  entries.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  assert.equal(entries.length, expected.length, `entries: ${entries.map((e) => e.summary).join(' | ')}`);
  entries.forEach((e, i) => {
    const want = expected[i];
    assert.equal(e.protocol, 'dns');
    assert.equal(e.dst.port, 5300);
    assert.equal(e.request.transport, want.transport);
    assert.deepEqual(e.request.questions, [{ name: want.name, type: want.type }]);
    assert.equal(e.response?.rcode, want.rcode);
    const answers = (e.response?.answers as { type: string; data: string }[]).map((a) => `${a.type} ${a.data}`);
    assert.deepEqual(answers, want.answers);
  });
}

test('dig against dnsmasq: every query paired with its response, UDP and TCP, mDNS noise ignored', async () => {
  const { entries, stats } = await entriesFromCapture(capture);
  checkAgainstExpected(entries);
  assert.equal(stats['engine.unclaimedDatagrams'], 2, 'the two mDNS-like datagrams are not claimed');
});

test('question names, types and rcodes agree with tshark', async (t) => {
  if (!have('tshark', '-v')) return t.skip('tshark not installed: cannot compare with it');
  const out = execFileSync(
    'tshark',
    ['-r', capture, '-d', 'udp.port==5300,dns', '-d', 'tcp.port==5300,dns', '-Y', 'dns.flags.response==1 && !(udp.port==5353)', '-T', 'fields', '-e', 'dns.qry.name', '-e', 'dns.qry.type', '-e', 'dns.flags.rcode'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const theirs = out.trim().split('\n').map((l) => {
    const [name, , rcode] = l.split('\t');
    return `${name} ${rcode === '3' ? 'NXDOMAIN' : rcode === '0' ? 'NOERROR' : rcode}`;
  });
  const { entries } = await entriesFromCapture(capture);
  const ours = entries.map((e) => `${(e.request.questions as { name: string }[])[0].name} ${e.response?.rcode}`);
  assert.deepEqual(ours.sort(), theirs.sort());
});

test('live: dig and dnsmasq in a fresh network namespace give the same entries', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: creates a network namespace and runs tcpdump');
  for (const tool of ['dnsmasq', 'dig', 'tcpdump', 'ip']) {
    if (!have(tool, tool === 'ip' ? '-V' : tool === 'dig' ? '-v' : '--version')) return t.skip(`${tool} not installed`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tap-dns-'));
  try {
    const out = join(dir, 'live.pcap');
    execFileSync('bash', [recordScript, out], { stdio: 'ignore', timeout: 60_000 });
    const { entries } = await entriesFromCapture(out);
    checkAgainstExpected(entries);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a compression pointer loop is refused, not followed', () => {
  // Hand-made: a question whose name is a pointer to itself (offset 12).
  const loop = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(parseDnsMessage(loop), null);
  assert.equal(dnsUdpDissector.detect(loop, 40000, 53), false);
  // The same question written out is a client query: the refusal above is the loop's doing.
  const plain = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1]);
  const m = parseDnsMessage(plain);
  assert.ok(m && isClientQuery(m));
});

test('names: dots and backslashes inside labels are escaped, other bytes kept, pointers into a name followed', () => {
  // Hand-made response: question a\.b.c\\d.é (labels "a.b", "c\d", 0xe9), answer named by a
  // pointer to the question's second label (offset 16).
  const header = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
  const question = [3, 0x61, 0x2e, 0x62, 3, 0x63, 0x5c, 0x64, 1, 0xe9, 0, 0, 1, 0, 1];
  const answer = [0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1];
  const m = parseDnsMessage(Buffer.from([...header, ...question, ...answer]));
  assert.ok(m);
  assert.deepEqual(m.questions, [{ name: 'a\\.b.c\\\\d.\u00e9', type: 'A' }]);
  assert.deepEqual(m.answers, [{ name: 'c\\\\d.\u00e9', type: 'A', ttl: 60, data: '10.0.0.1' }]);
  // The root name is "." and a name over 255 bytes is refused.
  const root = parseDnsMessage(Buffer.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]));
  assert.deepEqual(root?.questions, [{ name: '.', type: 'NS' }]);
  const long = [...Array(5)].flatMap(() => [63, ...Array(63).fill(0x61)]);
  assert.equal(parseDnsMessage(Buffer.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...long, 0, 0, 1, 0, 1])), null);
});
