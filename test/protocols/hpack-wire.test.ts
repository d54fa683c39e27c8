// HPACK's integers and strings read straight from a block (src/protocols/http2/hpack-wire.ts):
// the RFC 7541 appendix C examples; then, against hpack.js's own decoder (what the engine used
// before) on the same bytes, random strings of every octet encoded by hpack.js's encoder and
// random bytes read as Huffman strings: the same text, or both refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { HpackReader } from '../../src/protocols/http2/hpack-wire.js';

const require = createRequire(import.meta.url);
const hpack = require('hpack.js');

/** hpack.js's reading of one string literal, one character per octet, or its error. */
function theirs(block: Buffer): string | Error {
  try {
    const d = hpack.decoder.create();
    d.push(block);
    const raw = d.decodeStr();
    return Buffer.isBuffer(raw) ? raw.toString('latin1') : String.fromCharCode(...(raw as number[]));
  } catch (err) {
    return err as Error;
  }
}

function ours(block: Buffer): string | Error {
  try {
    return new HpackReader(block).str().text;
  } catch (err) {
    return err as Error;
  }
}

/** A seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('RFC 7541 appendix C: integers and Huffman-coded strings', () => {
  assert.equal(new HpackReader(Buffer.from('0a', 'hex')).int(5), 10); // C.1.1
  assert.equal(new HpackReader(Buffer.from('1f9a0a', 'hex')).int(5), 1337); // C.1.2
  assert.equal(new HpackReader(Buffer.from('2a', 'hex')).int(8), 42); // C.1.3
  for (const [hex, text] of [
    ['8cf1e3c2e5f23a6ba0ab90f4ff', 'www.example.com'], // C.4.1
    ['86a8eb10649cbf', 'no-cache'], // C.4.2
    ['8825a849e95ba97d7f', 'custom-key'], // C.4.3
    ['8925a849e95bb8e8b4bf', 'custom-value'],
    ['826402', '302'], // C.6.1
    ['85aec3771a4b', 'private'],
    ['96d07abe941054d444a8200595040b8166e082a62d1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['919d29ad171863c78f0b97c8e9ae82ae43d3', 'https://www.example.com'],
    ['0d637573746f6d2d686561646572', 'custom-header'], // C.2.1, not Huffman
  ] as const) {
    const reader = new HpackReader(Buffer.from(hex, 'hex'));
    assert.equal(reader.str().text, text, hex);
    assert.ok(reader.done, `${hex}: read to its end`);
  }
});

test('strings of every octet, encoded by hpack.js, read as hpack.js reads them', () => {
  const next = random(7541);
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(next() * (i % 10 === 0 ? 600 : 40));
    // Mostly header-like characters, some of any octet (the long codes).
    const octets = Array.from({ length }, () => (next() < 0.8 ? 32 + Math.floor(next() * 95) : Math.floor(next() * 256)));
    const encoder = hpack.encoder.create();
    encoder.encodeStr(octets, i % 3 !== 0);
    const block = Buffer.concat(encoder.render());
    const got = new HpackReader(block).str();
    assert.equal(got.text, String.fromCharCode(...octets), `case ${i}`);
    assert.equal(got.octets, length);
    assert.equal(got.text, theirs(block));
  }
});

test('random bytes as a Huffman string: the same text as hpack.js, or both refuse', () => {
  const next = random(1337);
  let refused = 0;
  for (let i = 0; i < 20000; i++) {
    const length = 1 + Math.floor(next() * 12);
    // Biased to ones, so that padding and long codes come up often.
    const body = Buffer.from(Array.from({ length }, () => (next() < 0.5 ? 0xff : Math.floor(next() * 256))));
    const block = Buffer.concat([Buffer.from([0x80 | length]), body]);
    const a = ours(block);
    const b = theirs(block);
    if (a instanceof Error || b instanceof Error) {
      assert.ok(a instanceof Error && b instanceof Error, `${block.toString('hex')}: ours ${String(a)}, hpack.js ${String(b)}`);
      refused += 1;
    } else assert.equal(a, b, block.toString('hex'));
  }
  assert.ok(refused > 1000 && refused < 19000, `${refused} of 20000 refused: both kinds of input came up`);
});

test('a literal longer than the block, an integer past 32 bits, an empty block: clear errors', () => {
  assert.throws(() => new HpackReader(Buffer.from('0a6162', 'hex')).str(), /longer than the block/);
  assert.throws(() => new HpackReader(Buffer.from('1fffffffff7f', 'hex')).int(5), /32 bits/);
  assert.throws(() => new HpackReader(Buffer.alloc(0)).int(5), /past the end/);
  assert.throws(() => new HpackReader(Buffer.from('1f', 'hex')).int(5), /past the end/);
});
