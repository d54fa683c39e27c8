// Throughput of the capture reader alone and reader + packet decoder, on a file in the page
// cache. Usage: node --import tsx bench/capture-decode.ts [capture-file]
// Without a file, builds /tmp/kubectl-tap-bench.pcap (~200 MiB) by repeating the records of
// testdata/capture/any-sll2.pcap and testdata/capture/lo-ethernet.pcap, mostly small frames.
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { PacketDecoder } from '../src/decode/decoder.js';
import { Stats } from '../src/stats.js';

const path = process.argv[2] ?? buildSample();
const size = statSync(path).size;

await readCaptureFile(path, () => {}); // warm the page cache and the JIT

for (const mode of ['read', 'read+decode'] as const) {
  const decoder = new PacketDecoder(new Stats());
  let packets = 0;
  const started = process.hrtime.bigint();
  const { frames } = await readCaptureFile(path, mode === 'read' ? () => {} : (frame) => {
    if (decoder.decode(frame) !== null) packets++;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${mode.padEnd(12)} ${frames} frames in ${seconds.toFixed(2)} s: ${(frames / seconds / 1e6).toFixed(2)} M frames/s, ` +
      `${(size / seconds / 2 ** 20).toFixed(0)} MiB/s${mode === 'read' ? '' : `, ${packets} packets`}`,
  );
}

function buildSample(): string {
  const out = '/tmp/kubectl-tap-bench.pcap';
  if (existsSync(out)) return out;
  const source = readFileSync(new URL('../testdata/capture/lo-ethernet.pcap', import.meta.url));
  // Keep only frames up to 200 bytes (handshakes, ACKs, small requests): the per-frame cost is what matters.
  const small: Buffer[] = [];
  for (let p = 24; p < source.length; ) {
    const length = source.readUInt32LE(p + 8);
    if (length <= 200) small.push(source.subarray(p, p + 16 + length));
    p += 16 + length;
  }
  const block = Buffer.concat(small);
  const fd = openSync(out, 'w');
  writeSync(fd, source.subarray(0, 24));
  for (let written = 0; written < 200 * 2 ** 20; written += block.length * 64) writeSync(fd, Buffer.concat(Array(64).fill(block)));
  closeSync(fd);
  return out;
}
