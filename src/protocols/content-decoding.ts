// Undoes a content coding with node:zlib's synchronous calls, for every protocol that
// compresses payloads: HTTP/1 and HTTP/2 Content-Encoding (gzip, x-gzip, deflate in its zlib
// and raw forms, br; several codings in the order they were applied) and gRPC's per-message
// grpc-encoding. maxOutputLength bounds what a decompression bomb can make us allocate; a
// payload that fails to decode is reported with the reason and shown raw by the caller.

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** Largest decoded payload we produce; beyond it the payload is shown raw with the reason. */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;
/** Largest compressed body we keep in order to decode it. */
export const MAX_COMPRESSED_BYTES = 8 * 1024 * 1024;

const SUPPORTED = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/**
 * Codings in the order they were applied (coding names are case-insensitive, RFC 9110
 * 8.4.1); null when one of them is not one we decode.
 */
export function decodableCodings(contentEncoding: string): string[] | null {
  const codings: string[] = [];
  for (const part of contentEncoding.split(',')) {
    const coding = part.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    if (!SUPPORTED.has(coding)) return null;
    codings.push(coding);
  }
  return codings;
}

/** A failure says why; `tooLarge` when the output would pass the limit (a bomb, or just big). */
export type DecodeResult = { ok: true; bytes: Buffer } | { ok: false; error: string; tooLarge?: true };

/** Undoes `codings` (as decodableCodings returns them), last applied first. */
export function decodeBody(bytes: Buffer, codings: readonly string[], maxDecoded: number = MAX_DECODED_BYTES): DecodeResult {
  let current = bytes;
  try {
    for (let i = codings.length - 1; i >= 0; i--) current = decodeOne(current, codings[i], maxDecoded);
    return { ok: true, bytes: current };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, error: `decoded body larger than ${maxDecoded} bytes`, tooLarge: true };
    return { ok: false, error: `${codings.join(', ')}: ${(err as Error).message}` };
  }
}

function decodeOne(bytes: Buffer, coding: string, maxDecoded: number): Buffer {
  const options = { maxOutputLength: Math.max(1, maxDecoded) };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(bytes, options);
    case 'br':
      return brotliDecompressSync(bytes, options);
    default:
      // "deflate" means zlib-wrapped deflate (RFC 9110 8.4.1.2), but some servers send raw
      // deflate; the zlib header's check bits tell them apart.
      return looksLikeZlib(bytes) ? inflateSync(bytes, options) : inflateRawSync(bytes, options);
  }
}

function looksLikeZlib(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}
