// Undoes Content-Encoding (gzip, x-gzip, deflate in its zlib and raw forms, br) with
// node:zlib's synchronous calls. maxOutputLength bounds what a decompression bomb can make
// us allocate; a body that fails to decode is reported with the reason and shown raw.

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** Largest decoded body we produce; beyond it the body is shown raw with bodyDecodeError. */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;
/** Largest compressed body we keep in order to decode it. */
export const MAX_COMPRESSED_BYTES = 8 * 1024 * 1024;

const SUPPORTED = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** Codings in the order they were applied; null when one of them is not one we decode. */
export function decodableCodings(contentEncoding: string): string[] | null {
  const codings = contentEncoding.split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity');
  return codings.every((c) => SUPPORTED.has(c)) ? codings : null;
}

export type DecodeResult = { ok: true; bytes: Buffer } | { ok: false; error: string };

export function decodeBody(bytes: Buffer, codings: readonly string[]): DecodeResult {
  let current = bytes;
  try {
    for (let i = codings.length - 1; i >= 0; i--) current = decodeOne(current, codings[i]);
    return { ok: true, bytes: current };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, error: `decoded body larger than ${MAX_DECODED_BYTES} bytes` };
    return { ok: false, error: `${codings.join(', ')}: ${(err as Error).message}` };
  }
}

function decodeOne(bytes: Buffer, coding: string): Buffer {
  const options = { maxOutputLength: MAX_DECODED_BYTES };
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
