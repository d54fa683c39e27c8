// The TLS-handshake dissector on real handshakes (node tls and openssl s_client, recorded by
// testdata/tls/record.sh): entries against the expected key fields and against tshark.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { recordingContext } from '../helpers/context.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';
import { TlsParser, detectTls } from '../../src/protocols/tls/parser.js';

const capture = new URL('../../testdata/tls/handshakes.pcap', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(new URL('../../testdata/tls/handshakes.expected.json', import.meta.url), 'utf8'));

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('each real handshake gives one tls entry with SNI, ALPN, versions and the cipher', async () => {
  const { entries, stats } = await entriesFromCapture(capture);
  assertValidEntries(entries);
  assert.equal(entries.length, expected.length);
  entries.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  entries.forEach((e, i) => {
    const want = expected[i];
    assert.equal(e.protocol, 'tls');
    assert.equal(e.dst.port, 18443);
    assert.equal(e.request.sni ?? null, want.sni);
    assert.deepEqual(e.request.alpn ?? null, want.alpn);
    assert.equal(e.request.version, want.version);
    assert.equal(e.request.recordVersion, '1.0'); // the record layer says 1.0 even for 1.3
    assert.equal(e.response?.version, want.responseVersion);
    assert.equal(e.response?.cipher, want.cipher);
    assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
  });
  assert.ok((stats['tls.bytesIgnored'] ?? 0) > 0, 'bytes after the handshake are counted as ignored');
});

test('handshakes.expected.json is what tshark reads in the capture (derive-expected.mjs)', (t) => {
  if (!hasTshark()) return t.skip('tshark not installed: cannot derive the expected file');
  const derived = JSON.parse(execFileSync(process.execPath, [new URL('../../testdata/tls/derive-expected.mjs', import.meta.url).pathname, capture], { encoding: 'utf8' }));
  assert.deepEqual(derived, expected);
});

test('SNI and negotiated cipher agree with tshark', async (t) => {
  if (!hasTshark()) return t.skip('tshark not installed: cannot compare with it');
  const out = execFileSync(
    'tshark',
    ['-r', capture, '-d', 'tcp.port==18443,tls', '-Y', 'tls.handshake.type==1 || tls.handshake.type==2', '-T', 'fields', '-e', 'tcp.stream', '-e', 'tls.handshake.type', '-e', 'tls.handshake.extensions_server_name', '-e', 'tls.handshake.ciphersuite'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const byStream = new Map<string, { sni: string; cipher: number }>();
  for (const line of out.trim().split('\n')) {
    const [stream, types, sni, suites] = line.split('\t');
    const s = byStream.get(stream) ?? { sni: '', cipher: -1 };
    if (types.split(',')[0] === '1') s.sni = sni;
    if (types.split(',')[0] === '2') s.cipher = Number(suites);
    byStream.set(stream, s);
  }
  const { entries } = await entriesFromCapture(capture);
  const ours = entries.map((e) => `${e.request.sni ?? ''}`).sort();
  const theirs = [...byStream.values()].map((s) => s.sni).sort();
  assert.deepEqual(ours, theirs);
  const cipherCodes: Record<string, number> = { TLS_AES_256_GCM_SHA384: 0x1302, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 0xc02f };
  for (const e of entries) {
    const s = [...byStream.values()].find((x) => x.sni === (e.request.sni ?? ''));
    assert.equal(cipherCodes[e.response?.cipher as string], s?.cipher);
  }
});

test('a record that is not TLS after the hello is counted, never thrown', () => {
  // The one hand-made case: a valid-looking record header with an impossible length.
  const ctx = recordingContext();
  const { calls, stats } = ctx;
  const p = new TlsParser(ctx);
  p.onData(0, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01]), 1);
  p.onEnd(2);
  assert.equal(stats.get('tls.malformed'), 1);
  assert.equal(calls.length, 0);
  assert.equal(detectTls({ client: Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), server: Buffer.alloc(0), clientPort: 1, serverPort: 2, midstream: false }), 'no');
});
