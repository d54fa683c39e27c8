// The state of one HTTP/2 stream while its frames arrive: both halves' header fields (pseudo
// headers included, in order), trailers, payload collectors, and how the stream ended.

import type { Dir } from '../types.js';
import type { GrpcMessageReader } from '../grpc/framing.js';
import type { BodyCollector } from '../body-collector.js';

/**
 * Header fields in order, flat: name, value, name, value... A pair array a field cost 64
 * bytes of heap; on the gRPC bench capture (15 fields a call) the pairs were 11% of all the
 * bytes allocated, and the garbage collector 23% of the CPU.
 */
export type Fields = string[];

/** How many fields (name/value pairs) a list holds. */
export function fieldCount(fields: Fields): number {
  return fields.length >> 1;
}

/** The pseudo-header fields (':name') of a list, in order. */
export function pseudoOnly(fields: Fields): Fields {
  const kept: Fields = [];
  for (let i = 0; i < fields.length; i += 2) if (fields[i]!.charCodeAt(0) === 58) kept.push(fields[i]!, fields[i + 1]!); // ':'
  return kept;
}

export interface HalfStream {
  fields: Fields | null;
  headersIncomplete: boolean;
  /** Fields (of the headers and trailers) past the header list limit: counted, not kept. */
  headersDropped: number;
  trailers: Fields | null;
  ended: boolean;
  payload: BodyCollector | GrpcMessageReader | null;
  /** DATA of this half was lost to a capture gap. */
  dataLost: boolean;
}

/** The request of an `Upgrade: h2c` connection, as the HTTP/1 dissector parsed it. */
export interface UpgradeRequest {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  httpVersion?: string;
  headers: Record<string, string>;
  body?: string | null;
  bodyEncoding?: 'base64';
  bodyTruncated?: true;
  bodySize?: number;
}

export interface H2Stream {
  id: number;
  startMicros: number;
  request: HalfStream;
  response: HalfStream;
  /** Stream 1 of an h2c upgrade: its request came over HTTP/1.1. */
  upgradeRequest?: UpgradeRequest;
  /** Created by a PUSH_PROMISE: the request is the promised one. */
  pushed: boolean;
  grpc: boolean | null;
  resetCode?: number;
  resetBy?: Dir;
  /** Why the stream did not complete, when not a reset. */
  error?: string;
  incomplete: boolean;
  /** Its first frames came before the capture (joined midstream): headers unknown. */
  joinedLate?: true;
  /** Bytes of decoded header lists charged to the memory budget for this stream. */
  headerBytes: number;
}

/**
 * Lets go of what a half of a reported stream holds. Why: until the next full GC, a dead
 * object in the old generation still keeps the young objects it points to alive through
 * scavenges (a superseded table of the streams Map points to streams it held). A stream kept
 * that way was promoted with its header fields, trailers and body pieces; cut loose, it goes
 * alone. On the gRPC bench capture: 240 -> 95 MB promoted over the run.
 */
export function releaseHalf(half: HalfStream): void {
  half.payload?.release();
  half.payload = null;
  half.fields = null;
  half.trailers = null;
}

export function newHalf(): HalfStream {
  return { fields: null, headersIncomplete: false, headersDropped: 0, trailers: null, ended: false, payload: null, dataLost: false };
}

export function newStream(id: number, startMicros: number): H2Stream {
  return { id, startMicros, request: newHalf(), response: newHalf(), pushed: false, grpc: null, incomplete: false, headerBytes: 0 };
}

/** A pseudo or regular header's value (first occurrence). */
export function fieldValue(fields: Fields | null, name: string): string | undefined {
  if (fields === null) return undefined;
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * Regular (non-pseudo) fields as an object: lower-case names, repeated values joined with
 * ', ' (cookie crumbs with '; ', RFC 9113 section 8.2.3).
 */
export function headerObject(fields: Fields | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (fields === null) return out;
  for (let i = 0; i < fields.length; i += 2) {
    const rawName = fields[i]!;
    const value = fields[i + 1]!;
    if (rawName.charCodeAt(0) === 58) continue; // ':'
    const name = rawName.toLowerCase();
    const previous = out[name];
    out[name] = previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}
