// Types for the two pure-JavaScript decompressors Kafka record batches use that ship none.
declare module 'snappyjs' {
  /** Throws when the block's declared length is over maxLength, or when it is corrupt. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  export function compress(uncompressed: Uint8Array): Uint8Array;
}

declare module 'lz4js' {
  /** An upper bound of the frame's decompressed size, read from its headers (throws on a bad magic or descriptor). */
  export function decompressBound(src: Uint8Array): number;
  /** Decompresses one LZ4 frame into dst; returns the decompressed length, which is past dst's end when dst was too small. */
  export function decompressFrame(src: Uint8Array, dst: Uint8Array): number;
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
}
