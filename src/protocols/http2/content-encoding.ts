// Undoes a response's Content-Encoding (gzip, x-gzip, deflate in zlib or raw form, br) with
// node:zlib, bounded by maxOutputLength so that a decompression bomb costs at most `limit`.

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

export interface Decoded {
  bytes: Buffer;
  /** Set when decoding failed or the output was cut at the limit. */
  error?: string;
}

export function decodeContentEncoding(encoding: string, wire: Buffer, limit: number): Decoded | null {
  const name = encoding.trim().toLowerCase();
  const options = { maxOutputLength: Math.max(1, limit) };
  try {
    if (name === 'gzip' || name === 'x-gzip') return { bytes: gunzipSync(wire, options) };
    if (name === 'br') return { bytes: brotliDecompressSync(wire, options) };
    if (name === 'deflate') {
      // RFC 9110 says zlib-wrapped; some servers send raw deflate. A zlib stream starts with
      // a CMF byte whose low nibble is 8 and whose first two bytes are a multiple of 31.
      const zlibWrapped = wire.length >= 2 && (wire[0] & 0x0f) === 8 && ((wire[0] << 8) | wire[1]) % 31 === 0;
      return { bytes: zlibWrapped ? inflateSync(wire, options) : inflateRawSync(wire, options) };
    }
  } catch (err) {
    return { bytes: wire, error: (err as Error).message };
  }
  return null;
}
