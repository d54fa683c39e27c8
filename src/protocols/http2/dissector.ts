// The HTTP/2 dissector (cleartext, prior knowledge or after an HTTP/1.1 `Upgrade: h2c`):
// detection from the client preface, or, for connections the capture joined late, from a
// plausible chain of frame headers in both directions. gRPC rides on it (see ../grpc/).

import type { Probe, StreamContext, StreamParser, TcpDissector, Verdict } from '../types.js';
import { Http2Connection, type Http2Init } from './connection.js';
import { CLIENT_PREFACE, findFrameBoundary } from './frames.js';

/** Frames in a row that make a midstream guess credible. */
const MIDSTREAM_CHAIN = 3;
/** Bytes of a probe direction after which we stop waiting for a chain. */
const PROBE_ENOUGH = 16 * 1024;

export function detectHttp2(probe: Probe): Verdict {
  const client = probe.client;
  const n = Math.min(client.length, CLIENT_PREFACE.length);
  if (n > 0 && client.compare(CLIENT_PREFACE, 0, n, 0, n) === 0) return n === CLIENT_PREFACE.length ? 'yes' : 'more';
  if (!probe.midstream) return client.length === 0 ? 'more' : 'no';
  const fromClient = directionVerdict(probe.client);
  const fromServer = directionVerdict(probe.server);
  if (fromClient === 'no' || fromServer === 'no') return 'no';
  return fromClient === 'yes' && fromServer === 'yes' ? 'yes' : 'more';
}

function directionVerdict(bytes: Buffer): Verdict {
  if (bytes.length === 0) return 'more';
  // Segments usually begin at frame boundaries; allow a frame's worth of leading bytes.
  const found = findFrameBoundary(bytes.length > PROBE_ENOUGH ? bytes.subarray(0, PROBE_ENOUGH) : bytes, 0, MIDSTREAM_CHAIN);
  if (found !== null && found.confirmed && found.at <= 16 * 1024 + 9) return 'yes';
  return bytes.length >= PROBE_ENOUGH ? 'no' : 'more';
}

export const http2Dissector: TcpDissector = {
  name: 'http2',
  detect: detectHttp2,
  create(ctx: StreamContext, init?: unknown): StreamParser {
    return new Http2Connection(ctx, init as Http2Init | undefined);
  },
};
