// Kafka record batches compressed with every codec, as a real client makes them: kcat /
// librdkafka producing with -z gzip|snappy|lz4|zstd and fetching back (testdata/kafka/
// codecs.pcap, recorded by record-codecs.sh). Checked against the records the recording sent
// and those kcat printed after librdkafka decompressed them itself, and against tshark's
// reading of each batch's codec. Bounds: a bomb in each codec is refused before it allocates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compress as lz4Compress } from 'lz4js';
import { compress as snappyCompress } from 'snappyjs';
import { gzipSync } from 'node:zlib';
import { inflateRecords } from '../../src/protocols/kafka/compression.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { skipUnless, tool } from '../helpers/requirements.js';
import { assertValidEntries } from '../helpers/schema.js';

const capture = new URL('../../testdata/kafka/codecs.pcap', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(new URL('../../testdata/kafka/codecs.expected.json', import.meta.url), 'utf8')) as {
  topic: string;
  codec: string;
  sent: [string, string][];
  consumedByKcat: [string, string][];
}[];
const CODEC_NUMBER: Record<string, number> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
type Part = { topic: string; codec: string; recordCount: number; compressedBytes?: number; records: { key: { body: string } | null; value: { body: string } | null }[] };

test('produced and fetched batches of every codec decode to the records the client sent', async () => {
  const { entries, stats } = await entriesFromCapture(capture);
  assertValidEntries(entries);
  assert.equal(stats['kafka.internalError'] ?? 0, 0);
  for (const want of expected) {
    assert.deepEqual(want.consumedByKcat, want.sent, `${want.topic}: librdkafka read back what was sent`);
    const records = (e: { request: any; response: any }, side: 'request' | 'response') =>
      ((e[side]?.partitions ?? []) as Part[]).filter((p) => p.topic === want.topic && p.recordCount > 0);
    const produce = entries.filter((e) => e.request.apiKey === 'Produce').flatMap((e) => records(e, 'request'));
    const fetch = entries.filter((e) => e.request.apiKey === 'Fetch').flatMap((e) => records(e, 'response'));
    for (const [what, parts] of [['Produce', produce], ['Fetch', fetch]] as const) {
      assert.equal(parts.length, 1, `${want.topic}: one ${what} batch`);
      const part = parts[0]!;
      assert.equal(part.codec, want.codec, `${want.topic} ${what}: codec`);
      assert.equal(part.compressedBytes, undefined, `${want.topic} ${what}: nothing left compressed`);
      assert.deepEqual(part.records.map((r) => [r.key?.body, r.value?.body]), want.sent, `${want.topic} ${what}: records`);
    }
  }
});

test('tshark reads the same codec on every Produce and Fetch batch', (t) => {
  if (skipUnless(t, tool('tshark', '-v'))) return;
  const out = execFileSync('tshark', ['-r', capture, '-d', 'tcp.port==19094,kafka', '-Y', 'kafka.batch_codec', '-T', 'fields', '-e', 'kafka.api_key', '-e', 'kafka.batch_codec'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const seen = out.trim().split('\n').map((l) => l.split('\t').join(':')).sort();
  // api key 0 (Produce) and 1 (Fetch), one batch of each codec each way.
  const want = Object.values(CODEC_NUMBER).flatMap((c) => [`0:${c}`, `1:${c}`]).sort();
  assert.deepEqual(seen, want);
});

test('each codec refuses output over the limit, allocating no more than it, and says so', (t) => {
  if (skipUnless(t, tool('zstd'))) return;
  const big = Buffer.alloc(2 * 1024 * 1024, 'a'); // compresses to almost nothing in every codec
  const limit = 1024 * 1024;
  const bombs: [string, Buffer][] = [
    ['gzip', gzipSync(big)],
    ['snappy', Buffer.from(snappyCompress(big))],
    ['lz4', Buffer.from(lz4Compress(big))],
    ['zstd', zstdFromCli(big)],
  ];
  for (const [codec, bytes] of bombs) {
    assert.ok(bytes.length < big.length / 20, `${codec}: a real bomb (${bytes.length} bytes)`);
    const fits = inflateRecords(CODEC_NUMBER[codec]!, bytes, 4 * 1024 * 1024);
    assert.ok(fits.ok && fits.bytes.equals(big), `${codec}: decodes under a limit it fits in`);
    const refused = inflateRecords(CODEC_NUMBER[codec]!, bytes, limit);
    assert.equal(refused.ok, false, codec);
    assert.equal(!refused.ok && refused.tooLarge, true, `${codec}: ${!refused.ok && refused.error}`);
  }
});

test('the Java client\'s xerial-framed snappy decodes like raw snappy; corrupt input is an error, not a throw', () => {
  // The one framing no client on this machine writes: built here from its definition
  // (magic, version 1, compatible 1, then length-prefixed raw snappy blocks).
  const parts = [Buffer.from('first block of records '.repeat(20)), Buffer.from('second block '.repeat(30))];
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const blocks = parts.map((p) => {
    const c = Buffer.from(snappyCompress(p));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(c.length);
    return Buffer.concat([len, c]);
  });
  const framed = inflateRecords(2, Buffer.concat([header, ...blocks]), 1 << 20);
  assert.ok(framed.ok && framed.bytes.equals(Buffer.concat(parts)));
  for (const codec of [1, 2, 3, 4]) {
    const r = inflateRecords(codec, Buffer.from('definitely not compressed data, whatever the codec'), 1 << 20);
    assert.equal(r.ok, false, `codec ${codec}`);
    assert.equal(!r.ok && r.tooLarge, false, `codec ${codec}: ${!r.ok && r.error}`);
  }
});

test('an lz4 block whose size runs past the frame is refused before lz4js reads it', () => {
  // Found by the robustness test (seed 4088174795): a corrupt block size made lz4js loop for
  // seconds over bytes that are not there. The real frame, with its first block size raised.
  const frame = Buffer.from(lz4Compress(Buffer.from('a real record value, compressed by lz4js '.repeat(50))));
  const corrupt = Buffer.from(frame);
  corrupt.writeUInt32LE(0x7ffffff0, 7); // magic 4, FLG, BD, header checksum: the first block size
  assert.ok(inflateRecords(3, frame, 1 << 20).ok, 'the frame as made decodes');
  const r = inflateRecords(3, corrupt, 1 << 20);
  assert.deepEqual(r, { ok: false, tooLarge: false, error: 'lz4: lz4 block overruns the frame' });
});

/**
 * zstd from the zstd command-line tool (fzstd only decompresses). Given the size, zstd puts
 * it in the frame header, as librdkafka does; without it, the frame declares only its window
 * (8 MiB at -19), which is what fzstd would allocate, and is refused under a 4 MiB limit.
 */
function zstdFromCli(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-19', `--stream-size=${data.length}`], { input: data, maxBuffer: 64 << 20 });
}
