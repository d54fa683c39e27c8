// Robustness of the Kafka, DNS and TLS dissectors: their real captures with bytes flipped
// (a seeded generator, so failures replay) go through the whole engine. Nothing may throw
// out of a dissector, nor be caught inside the engine (test/helpers/caught-exceptions.ts), and every entry that still comes out must match the schema.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CaptureFormatError } from '../../src/errors.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { caughtExceptions } from '../helpers/caught-exceptions.js';
import { assertValidEntries } from '../helpers/schema.js';

const captures = ['kafka/clients.pcap', 'kafka/kafka-produce-metadata.pcap', 'dns/queries.pcap', 'tls/handshakes.pcap', 'mixed/mixed.pcap'];
const rounds = Number(process.env.FUZZ_ROUNDS ?? 12);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('flipped bytes in real captures: no throw, only valid entries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-fuzz-'));
  let entriesSeen = 0;
  try {
    for (const name of captures) {
      const original = readFileSync(new URL(`../../testdata/${name}`, import.meta.url));
      for (let round = 0; round < rounds; round++) {
        const rand = prng(round * 7919 + name.length);
        const copy = Buffer.from(original);
        const flips = 1 + Math.floor(rand() * 40);
        // Skip the 24-byte file header; flipping packet bytes exercises the parsers.
        for (let i = 0; i < flips; i++) copy[24 + Math.floor(rand() * (copy.length - 24))] ^= 1 + Math.floor(rand() * 255);
        const path = join(dir, `r${round}.pcap`);
        writeFileSync(path, copy);
        try {
          const { entries, stats } = await entriesFromCapture(path);
          assertValidEntries(entries);
          assert.deepEqual(caughtExceptions(stats), [], `${name} round ${round}: exceptions caught inside the engine`);
          entriesSeen += entries.length;
        } catch (err) {
          if (!(err instanceof CaptureFormatError)) throw new Error(`${name} round ${round}: ${(err as Error).stack}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(entriesSeen > 0, 'the mutated captures still gave entries to check');
});
