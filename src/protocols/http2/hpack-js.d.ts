// Types for the parts of hpack.js (untyped CommonJS) that hpack.ts drives directly.
declare module 'hpack.js' {
  export interface HpackDecoder {
    push(chunk: Buffer): void;
    isEmpty(): boolean;
    decodeBit(): number;
    decodeInt(): number;
    /** Raw octets (a Buffer, or an array of numbers after Huffman decoding). */
    decodeStr(): ArrayLike<number>;
    bitOffset: number;
  }
  export interface HpackTableEntry {
    name: string;
    value: string;
    nameSize: number;
    totalSize: number;
  }
  export interface HpackTable {
    dynamic: HpackTableEntry[];
    size: number;
    maxSize: number;
    protocolMaxSize: number;
    length: number;
    lookup(index: number): HpackTableEntry;
    add(name: string, value: string, nameSize: number, valueSize: number): void;
    evict(): void;
  }
  const hpack: {
    decoder: { create(): HpackDecoder };
    table: { create(options: { maxSize: number }): HpackTable };
    utils: { stringify(octets: ArrayLike<number>): string };
    'static-table': { table: HpackTableEntry[] };
  };
  export default hpack;
}

// The Huffman code of RFC 7541 appendix B, per symbol (256 is EOS): [bit length, code].
declare module 'hpack.js/lib/hpack/huffman.js' {
  const huffman: { encode: Array<[number, number]> };
  export default huffman;
}
