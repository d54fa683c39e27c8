// Kafka request headers (v0-v2) and the plausibility checks that detection and
// resynchronisation share. A Kafka stream is binary and length-prefixed, so a frame start is
// only accepted when every field is sane: size, known api key and version, non-negative
// correlation id, printable client id, and for flexible versions a small tagged-field count.
import { apiInfo, isFlexible, isValidApi } from './apis.js';

/** Requests larger than this are not believed at detection (produce batches are far smaller). */
export const maxPlausibleFrame = 100 * 1024 * 1024;

export interface RequestHeader {
  size: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  flexible: boolean;
  /** Bytes from the frame start (size prefix included) to the request body. */
  headerLength: number;
}

/** A request header at `off`, 'more' when the bytes end before a verdict, null when implausible. */
export function requestHeaderAt(buf: Buffer, off: number): RequestHeader | 'more' | null {
  const have = buf.length - off;
  if (have < 14) {
    // Refuse as early as the bytes allow, so other detectors are not kept waiting.
    if (have >= 4) {
      const size = buf.readInt32BE(off);
      if (size < 10 || size > maxPlausibleFrame) return null;
    }
    if (have >= 6 && !isValidApi(buf.readInt16BE(off + 4), 0)) return null;
    if (have >= 8 && !isValidApi(buf.readInt16BE(off + 4), buf.readInt16BE(off + 6))) return null;
    return 'more';
  }
  const size = buf.readInt32BE(off);
  if (size < 10 || size > maxPlausibleFrame) return null;
  const apiKey = buf.readInt16BE(off + 4);
  const apiVersion = buf.readInt16BE(off + 6);
  if (!isValidApi(apiKey, apiVersion)) return null;
  const correlationId = buf.readInt32BE(off + 8);
  if (correlationId < 0) return null;
  const idLen = buf.readInt16BE(off + 12);
  if (idLen < -1 || idLen > 512 || 10 + Math.max(0, idLen) > size) return null;
  let pos = off + 14;
  let clientId: string | null = null;
  if (idLen >= 0) {
    if (buf.length < pos + idLen) return 'more';
    for (let i = pos; i < pos + idLen; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) return null;
    clientId = buf.toString('latin1', pos, pos + idLen);
    pos += idLen;
  }
  const flexible = isFlexible(apiKey, apiVersion);
  if (flexible) {
    if (buf.length <= pos) return 'more';
    // Tagged fields in request headers: clients send none or very few, each tiny.
    const count = buf[pos];
    if (count > 8 || 10 + Math.max(0, idLen) + 1 > size) return null;
    pos += 1;
    for (let i = 0; i < count; i++) {
      if (buf.length < pos + 2) return 'more';
      const len = buf[pos + 1];
      if (buf[pos] & 0x80 || len & 0x80) return null;
      pos += 2 + len;
    }
  }
  if (pos - off > size + 4) return null;
  return { size, apiKey, apiVersion, correlationId, clientId, flexible, headerLength: pos - off };
}

export function apiName(key: number): string {
  return apiInfo(key)?.name ?? `ApiKey${key}`;
}
