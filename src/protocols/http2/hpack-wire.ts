// HPACK's two primitives read straight from a header block (RFC 7541 section 5): integers
// with an N-bit prefix, and string literals, raw or Huffman-coded. Why not hpack.js's bit
// decoder: it reads through a chunk list (obuf) one bit or octet per call and collects each
// Huffman string as a JS array of numbers before it becomes a string; on the gRPC bench
// capture the garbage collector was 28% of the CPU. Here a block is one Buffer and a
// position, a raw string is one latin1 slice, and a Huffman string is decoded into a reused
// scratch buffer, then sliced once. Strict as the RFC (and hpack.js) are: an EOS symbol in
// the data, padding of 8 bits or more, padding that is not all ones, an integer past 32 bits
// or a string past the block's end throw.
//
// The Huffman code itself (RFC 7541 appendix B) is data, taken from hpack.js's encoding
// table: symbol -> [bit length, code].

import huffman from 'hpack.js/lib/hpack/huffman.js';

/** Codes of up to 8 bits are found by one lookup of the next 8 bits: (length << 9) | symbol. */
const SHORT = new Int32Array(256);
/** Longer codes (9-30 bits), by length: code -> symbol. */
const LONG: Map<number, number>[] = [];
const EOS = 256;

for (let symbol = 0; symbol < huffman.encode.length; symbol++) {
  const [bits, code] = huffman.encode[symbol]!;
  if (bits <= 8) {
    const first = code << (8 - bits);
    for (let fill = 0; fill < 1 << (8 - bits); fill++) SHORT[first | fill] = (bits << 9) | symbol;
  } else (LONG[bits] ??= new Map()).set(code, symbol);
}

/** Decoded Huffman octets before they become a string; grown as needed, never shrunk. */
let scratch = Buffer.allocUnsafe(4096);

export class HpackReader {
  pos = 0;

  constructor(private readonly block: Buffer) {}

  get done(): boolean {
    return this.pos >= this.block.length;
  }

  /** The next octet, not consumed: its high bits say which representation follows. */
  peek(): number {
    return this.block[this.pos]!;
  }

  /** An integer whose first octet keeps its low `prefixBits` bits (section 5.1). */
  int(prefixBits: number): number {
    const block = this.block;
    if (this.pos >= block.length) throw new Error('HPACK integer past the end of the block');
    const max = (1 << prefixBits) - 1;
    const first = block[this.pos++]! & max;
    if (first !== max) return first;
    let value = 0;
    for (let shift = 0; shift <= 21; shift += 7) {
      if (this.pos >= block.length) throw new Error('HPACK integer past the end of the block');
      const octet = block[this.pos++]!;
      value += (octet & 0x7f) * 2 ** shift;
      if ((octet & 0x80) === 0) return value + max;
    }
    throw new Error('HPACK integer does not fit into 32 bits');
  }

  /** A string literal (section 5.2) as one character per octet, and its length in octets. */
  str(): { text: string; octets: number } {
    if (this.pos >= this.block.length) throw new Error('HPACK string past the end of the block');
    const huffmanCoded = (this.block[this.pos]! & 0x80) !== 0;
    const length = this.int(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.block.length) throw new Error('HPACK string longer than the block');
    this.pos = end;
    if (!huffmanCoded) return { text: this.block.toString('latin1', start, end), octets: length };
    const n = decodeHuffman(this.block, start, end);
    return { text: scratch.toString('latin1', 0, n), octets: n };
  }
}

/** Huffman-decodes block[start, end) into scratch; returns the number of octets. */
function decodeHuffman(block: Buffer, start: number, end: number): number {
  // The shortest code is 5 bits: at most 8/5 octets out per octet in.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let bit = start * 8;
  const endBit = end * 8;
  while (bit < endBit) {
    const left = endBit - bit;
    const next8 = eightBitsAt(block, bit, end);
    const short = SHORT[next8]!;
    if (short !== 0 && short >>> 9 <= left) {
      out[n++] = short & 0x1ff; // symbols up to 8 bits are octets, never EOS
      bit += short >>> 9;
      continue;
    }
    // Fewer than 8 bits left that are no symbol: the padding, a prefix of EOS (all ones).
    if (left < 8) {
      if (next8 !== 0xff) throw new Error('HPACK Huffman padding is not all ones');
      break;
    }
    let symbol = -1;
    for (let bits = 9; bits <= 30 && bits <= left; bits++) {
      const found = LONG[bits]?.get(bitsAt(block, bit, bits, end));
      if (found !== undefined) {
        symbol = found;
        bit += bits;
        break;
      }
    }
    if (symbol === EOS) throw new Error('HPACK Huffman EOS in a string');
    if (symbol < 0) throw new Error('HPACK Huffman padding of 8 bits or more');
    out[n++] = symbol;
  }
  return n;
}

/** The 8 bits from bit position `bit` (the common case: two octets, 32-bit arithmetic). */
function eightBitsAt(block: Buffer, bit: number, end: number): number {
  const at = bit >>> 3;
  const high = at < end ? block[at]! : 0xff;
  const low = at + 1 < end ? block[at + 1]! : 0xff;
  return (((high << 8) | low) >>> (8 - (bit & 7))) & 0xff;
}

/** `count` (at most 30) bits from bit position `bit`; past `end` the bits read as ones. */
function bitsAt(block: Buffer, bit: number, count: number, end: number): number {
  let at = bit >>> 3;
  const skip = bit & 7;
  // 40 bits from the octet holding `bit`: enough for a 30-bit code at any offset. As a
  // double, not a 32-bit integer: JS bit operators would cut it.
  let window = 0;
  for (let i = 0; i < 5; i++, at++) window = window * 256 + (at < end ? block[at]! : 0xff);
  return Math.floor(window / 2 ** (40 - skip - count)) % 2 ** count;
}
