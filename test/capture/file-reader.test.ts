// The streaming reader on real captures: the same frames whatever the chunking (7-byte
// chunks as from a slow pipe, 1 MiB chunks as from a file), and CaptureFormatError with the
// offset of the bad record when a capture is truncated or corrupt (after the earlier frames
// were delivered), or is not a capture at all.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { LinkType, type Frame } from '../../src/capture/frame.js';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { CaptureFormatError } from '../../src/errors.js';

const dir = new URL('../../testdata/capture/', import.meta.url);
const load = (name: string) => readFileSync(new URL(name, dir));

interface Seen {
  tsMicros: number;
  linkType: number;
  originalLength: number;
  fileOffset: number;
  sha: string;
}

function chunked(bytes: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    })(),
  );
}

async function read(bytes: Buffer, chunkSize: number): Promise<{ seen: Seen[]; error: unknown; result?: { frames: number; bytes: number } }> {
  const seen: Seen[] = [];
  const onFrame = (f: Frame) =>
    seen.push({ tsMicros: f.tsMicros, linkType: f.linkType, originalLength: f.originalLength, fileOffset: f.fileOffset, sha: createHash('sha1').update(f.data).digest('hex') });
  try {
    const result = await readCaptureStream(chunked(bytes, chunkSize), onFrame);
    return { seen, error: undefined, result };
  } catch (error) {
    return { seen, error };
  }
}

for (const name of ['lo-ethernet.pcap', 'lo-bigendian.pcap', 'multi-interface.pcapng', 'two-sections.pcapng']) {
  test(`${name}: 7-byte chunks and 1 MiB chunks give the same frames`, async () => {
    const bytes = load(name);
    const big = await read(bytes, 1024 * 1024);
    const tiny = await read(bytes, 7);
    assert.equal(big.error, undefined);
    assert.equal(tiny.error, undefined);
    assert.ok(big.seen.length > 10);
    assert.deepEqual(tiny.seen, big.seen);
    assert.deepEqual(tiny.result, { frames: big.seen.length, bytes: bytes.length });
  });
}

test('byte-swapped pcap gives the same frames as the original', async () => {
  const little = await read(load('lo-ethernet.pcap'), 1 << 20);
  const big = await read(load('lo-bigendian.pcap'), 1 << 20);
  assert.deepEqual(big.seen, little.seen);
});

test('nanosecond pcap: timestamps in microseconds, truncated from the nanoseconds', async () => {
  const bytes = load('lo-nano.pcap');
  assert.equal(bytes.readUInt32LE(0), 0xa1b23c4d);
  const { seen } = await read(bytes, 1 << 20);
  const sec = bytes.readUInt32LE(24);
  const nsec = bytes.readUInt32LE(28);
  assert.equal(seen[0]!.tsMicros, sec * 1_000_000 + Math.floor(nsec / 1000));
});

test('multi-interface pcapng: each frame gets its interface link type', async () => {
  const { seen } = await read(load('multi-interface.pcapng'), 1 << 20);
  const types = new Set(seen.map((f) => f.linkType));
  assert.deepEqual([...types].sort((a, b) => a - b), [LinkType.ETHERNET, LinkType.LINUX_SLL2]);
});

for (const name of ['lo-ethernet.pcap', 'lo-dumpcap.pcapng']) {
  test(`${name} cut in the middle of a record: earlier frames, then the record's offset`, async () => {
    const bytes = load(name);
    const whole = await read(bytes, 1 << 20);
    const victim = whole.seen[5]!;
    const cut = bytes.subarray(0, victim.fileOffset + 20);
    for (const size of [7, 1 << 20]) {
      const partial = await read(cut, size);
      assert.ok(partial.error instanceof CaptureFormatError, String(partial.error));
      assert.equal(partial.error.offset, victim.fileOffset);
      assert.match(partial.error.message, /ends in the middle of a record/);
      assert.deepEqual(partial.seen, whole.seen.slice(0, 5));
    }
  });
}

test('pcap record with an impossible length: error at that record', async () => {
  const bytes = Buffer.from(load('lo-ethernet.pcap'));
  const whole = await read(bytes, 1 << 20);
  const victim = whole.seen[3]!.fileOffset;
  bytes.writeUInt32LE(0x7fffffff, victim + 8);
  const { seen, error } = await read(bytes, 1 << 20);
  assert.ok(error instanceof CaptureFormatError);
  assert.equal(error.offset, victim);
  assert.equal(seen.length, 3);
});

test('pcapng block whose trailing length disagrees: error at that block', async () => {
  const bytes = Buffer.from(load('lo-dumpcap.pcapng'));
  const whole = await read(bytes, 1 << 20);
  const victim = whole.seen[4]!.fileOffset;
  const length = bytes.readUInt32LE(victim + 4);
  bytes.writeUInt32LE(length + 4, victim + length - 4);
  const { seen, error } = await read(bytes, 1 << 20);
  assert.ok(error instanceof CaptureFormatError);
  assert.equal(error.offset, victim);
  assert.match(error.message, /length mismatch/);
  assert.equal(seen.length, 4);
});

for (const [label, bytes] of [
  ['a shell script', load('record.sh')],
  ['an empty input', Buffer.alloc(0)],
  ['three bytes', Buffer.from('abc')],
] as const) {
  test(`${label} is not a capture`, async () => {
    const { seen, error } = await read(bytes, 7);
    assert.ok(error instanceof CaptureFormatError);
    assert.equal(error.offset, 0);
    assert.match(error.message, /not a pcap or pcapng file/);
    assert.equal(seen.length, 0);
  });
}

test('a 256 MiB stream is read with flat memory', async () => {
  const capture = load('lo-ethernet.pcap');
  const header = capture.subarray(0, 24);
  const records = capture.subarray(24);
  const framesPerCopy = (await read(capture, 1 << 20)).seen.length;
  const copies = Math.ceil((256 << 20) / records.length);
  // Chunks of an odd size, so records straddle chunk boundaries all the time.
  const chunkSize = (1 << 20) + 13;
  function* stream() {
    yield Buffer.from(header);
    let position = 0;
    const total = copies * records.length;
    while (position < total) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, total - position));
      for (let filled = 0; filled < chunk.length; ) {
        const at = (position + filled) % records.length;
        filled += records.copy(chunk, filled, at, Math.min(records.length, at + chunk.length - filled));
      }
      position += chunk.length;
      yield chunk;
    }
  }
  let peak = 0;
  let frames = 0;
  const result = await readCaptureStream(Readable.from(stream()), () => {
    if (++frames % 4096 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  });
  assert.equal(result.frames, framesPerCopy * copies);
  // Flat means far below the 256 MiB that went through: chunks not yet collected by the GC
  // come and go (64.3 and 89.4 MiB seen on a loaded machine); a reader
  // that kept what it had read would hold the whole stream.
  assert.ok(peak < 128 << 20, `external memory peaked at ${(peak / 2 ** 20).toFixed(1)} MiB`);
});
