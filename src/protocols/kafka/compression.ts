// The compressed records of a Kafka record batch (or legacy wrapper message), undone with the
// codec its attributes name: gzip through the shared content decoder (node:zlib), snappy
// (snappyjs), lz4 (lz4js) and zstd (fzstd; node 20's zlib has none). All three libraries are
// pure JavaScript, so the single-file CLI bundles them. None of them takes an output limit
// that holds for every input, so each input's declared or bounded output size is read from
// its own headers first: nothing allocates more than `max` bytes, and a bomb is refused.
import { decompress as zstdDecompress } from 'fzstd';
import { decompressBound as lz4Bound, decompressFrame as lz4Frame } from 'lz4js';
import { uncompress as snappyUncompress } from 'snappyjs';
import { decodeBody } from '../content-decoding.js';

export type Inflated = { ok: true; bytes: Buffer } | { ok: false; tooLarge: boolean; error: string };

export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

class TooLarge extends Error {}

export function inflateRecords(codec: number, bytes: Buffer, max: number): Inflated {
  if (codec === 1) {
    const r = decodeBody(bytes, ['gzip'], max);
    return r.ok ? r : { ok: false, tooLarge: r.tooLarge === true, error: r.error };
  }
  try {
    if (codec === 2) return { ok: true, bytes: snappy(bytes, max) };
    if (codec === 3) return { ok: true, bytes: lz4(bytes, max) };
    if (codec === 4) return { ok: true, bytes: zstd(bytes, max) };
    return { ok: false, tooLarge: false, error: `unknown codec ${codec}` };
  } catch (err) {
    if (err instanceof TooLarge) return { ok: false, tooLarge: true, error: err.message };
    return { ok: false, tooLarge: false, error: `${CODECS[codec]}: ${(err as Error).message}` };
  }
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0

/**
 * Raw snappy (librdkafka, kafkajs), or the Java client's xerial framing: the magic, two
 * 4-byte versions, then blocks each prefixed with its big-endian length.
 */
function snappy(bytes: Buffer, max: number): Buffer {
  if (bytes.length < 16 || !bytes.subarray(0, 8).equals(XERIAL_MAGIC)) return Buffer.from(snappyBlock(bytes, max));
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let at = 16; at < bytes.length; ) {
    if (at + 4 > bytes.length) throw new Error('xerial block length cut short');
    const length = bytes.readUInt32BE(at);
    if (at + 4 + length > bytes.length) throw new Error('xerial block overruns the batch');
    const block = snappyBlock(bytes.subarray(at + 4, at + 4 + length), max - total);
    blocks.push(block);
    total += block.length;
    at += 4 + length;
  }
  return Buffer.concat(blocks, total);
}

/** One snappy block; its varint preamble says how large it will be. */
function snappyBlock(block: Uint8Array, max: number): Uint8Array {
  let length = 0;
  for (let i = 0, shift = 0; i < Math.min(block.length, 5); i++, shift += 7) {
    length += (block[i]! & 0x7f) * 2 ** shift;
    if ((block[i]! & 0x80) === 0) break;
  }
  if (length > max) throw new TooLarge(`snappy block of ${length} bytes, over the ${max}-byte limit`);
  return snappyUncompress(block, max);
}

/**
 * One LZ4 frame (Kafka >= 0.10). Its block headers bound the output, but loosely (every
 * compressed block counts as the frame's largest block size), so the output buffer is that
 * bound or the limit, whichever is smaller; lz4js reports how far it wrote, even past it.
 */
function lz4(bytes: Buffer, max: number): Buffer {
  checkLz4Blocks(bytes);
  const bound = lz4Bound(bytes);
  if (!Number.isFinite(bound) || bound < 0) throw new Error('lz4 frame with an unreadable size');
  const out = Buffer.alloc(Math.min(bound, max));
  const written = lz4Frame(bytes, out);
  if (written > out.length) throw new TooLarge(`lz4 frame of more than ${max} bytes, over the limit`);
  return out.subarray(0, written);
}

/**
 * lz4js trusts each block's size: a corrupt one (up to 2 GiB) makes it loop over bytes that
 * are not there, for seconds (the robustness test found it). So the frame's blocks are walked
 * first, and each must lie inside the input; lz4js's work is then bounded by the input's size
 * (a length byte adds at most 255 bytes of output).
 */
function checkLz4Blocks(bytes: Buffer): void {
  if (bytes.length < 7 || bytes.readUInt32LE(0) !== 0x184d2204) throw new Error('not an lz4 frame');
  const flags = bytes[4]!;
  const blockChecksum = (flags & 0x10) !== 0;
  let at = 4 + 2 + ((flags & 0x08) !== 0 ? 8 : 0) + 1; // FLG, BD, content size, header checksum
  for (;;) {
    if (at + 4 > bytes.length) throw new Error('lz4 frame cut short');
    const size = bytes.readUInt32LE(at) & 0x7fffffff;
    at += 4;
    if (size === 0) return;
    at += size + (blockChecksum ? 4 : 0);
    if (at > bytes.length) throw new Error('lz4 block overruns the frame');
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_MAX_BLOCK = 128 * 1024;

/**
 * Zstandard frames (RFC 8878). fzstd allocates what a frame header declares (content size, or
 * window size), so every frame is walked first: header, then block headers (raw and RLE
 * blocks say their size, a compressed block makes at most min(window, 128 KiB)), checksum.
 */
function zstd(bytes: Buffer, max: number): Buffer {
  let bound = 0;
  for (let at = 0; at < bytes.length; ) {
    if (at + 8 > bytes.length) throw new Error('zstd frame cut short');
    const magic = bytes.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      at += 8 + bytes.readUInt32LE(at + 4); // a skippable frame
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error('not a zstd frame');
    const descriptor = bytes[at + 4]!;
    const singleSegment = (descriptor & 0x20) !== 0;
    const fcsCode = descriptor >> 6;
    let pos = at + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = bytes[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    pos += [0, 1, 2, 4][descriptor & 3]!;
    const fcsBytes = fcsCode === 0 ? (singleSegment ? 1 : 0) : 2 ** fcsCode;
    let contentSize = 0;
    for (let i = 0; i < fcsBytes; i++) contentSize += (bytes[pos + i] ?? 0) * 2 ** (8 * i);
    if (fcsBytes === 2) contentSize += 256;
    pos += fcsBytes;
    const allocates = contentSize || window;
    if (singleSegment) window = contentSize;
    if (allocates > max) throw new TooLarge(`zstd frame of ${allocates} bytes, over the ${max}-byte limit`);
    for (let last = false; !last; ) {
      if (pos + 3 > bytes.length) throw new Error('zstd block header cut short');
      const header = bytes.readUIntLE(pos, 3);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error('reserved zstd block type');
      bound += type === 2 ? Math.min(window || ZSTD_MAX_BLOCK, ZSTD_MAX_BLOCK) : size;
      pos += 3 + (type === 1 ? 1 : size);
    }
    if (bound > max) throw new TooLarge(`zstd data of up to ${bound} bytes, over the ${max}-byte limit`);
    at = pos + ((descriptor & 0x04) !== 0 ? 4 : 0);
  }
  return Buffer.from(zstdDecompress(bytes));
}
