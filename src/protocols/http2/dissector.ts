// The HTTP/2 dissector (cleartext, prior knowledge or after an HTTP/1.1 `Upgrade: h2c`):
// detection from the client preface, or, for connections the capture joined late, from a
// plausible chain of frame headers in both directions. gRPC rides on it (see ../grpc/).

import type { Probe, StreamContext, StreamParser, TcpDissector, Verdict } from '../types.js';
import { Http2Connection, type Http2Init } from './connection.js';
import { CLIENT_PREFACE, FRAME_HEADER_SIZE, findFrameBoundary } from './frames.js';
import { sideEvidence, type SideEvidence } from './orientation.js';

/** Frames in a row that make a midstream guess credible. */
const MIDSTREAM_CHAIN = 3;
/** Bytes of a probe direction after which we stop waiting for a chain. */
const PROBE_ENOUGH = 16 * 1024;
/** Probe bytes (both directions) after which frames without any header block are accepted as is. */
const NO_EVIDENCE_PATIENCE = 8 * 1024;

export function detectHttp2(probe: Probe): Verdict {
  const client = probe.client;
  const n = Math.min(client.length, CLIENT_PREFACE.length);
  if (n > 0 && client.compare(CLIENT_PREFACE, 0, n, 0, n) === 0) return n === CLIENT_PREFACE.length ? 'yes' : 'more';
  if (!probe.midstream) return client.length === 0 ? 'more' : 'no';
  const fromClient = directionVerdict(probe.client);
  const fromServer = directionVerdict(probe.server);
  if (fromClient.verdict === 'no' || fromServer.verdict === 'no') return 'no';
  if ((fromClient.weak && fromServer.verdict !== 'yes') || (fromServer.weak && fromClient.verdict !== 'yes')) return 'more';
  // Joined mid-flow, the client/server guess may be backwards: the header blocks tell
  // requests from responses (see orientation.ts). Contradicting evidence says 'no', so the
  // engine tries the swapped orientation, where the same evidence says 'yes'.
  const c = fromClient.evidence;
  const s = fromServer.evidence;
  const agree = c.requests + s.responses;
  const disagree = c.responses + s.requests;
  if (disagree > agree) return 'no';
  if (agree > disagree) return fromClient.verdict === 'yes' || fromServer.verdict === 'yes' ? 'yes' : 'more';
  // No header block seen yet (long DATA streams, pings): keep waiting a while, then accept
  // the reassembler's guess (the engine asks in that orientation first).
  if (fromClient.verdict === 'yes' && fromServer.verdict === 'yes') {
    return probe.client.length + probe.server.length >= NO_EVIDENCE_PATIENCE ? 'yes' : 'more';
  }
  return 'more';
}

interface DirectionVerdict {
  verdict: Verdict;
  evidence: SideEvidence;
  /** 'yes' only from one frame header at the start of a full probe: both sides must say so. */
  weak?: true;
}

const NO_EVIDENCE: SideEvidence = { requests: 0, responses: 0 };

function directionVerdict(bytes: Buffer): DirectionVerdict {
  if (bytes.length === 0) return { verdict: 'more', evidence: NO_EVIDENCE };
  // Segments usually begin at frame boundaries; allow a frame's worth of leading bytes.
  const window = bytes.length > PROBE_ENOUGH ? bytes.subarray(0, PROBE_ENOUGH) : bytes;
  const found = findFrameBoundary(window, 0, MIDSTREAM_CHAIN);
  const evidence = found === null ? NO_EVIDENCE : sideEvidence(window, found.at);
  if (found !== null && found.confirmed && found.at <= 16 * 1024 + 9) return { verdict: 'yes', evidence };
  // Frames as large as the probe (16 KiB DATA frames of a gRPC stream carrying big messages)
  // cannot be chained within it. A plausible frame header right where the bytes start, running
  // past a full probe, is weaker evidence: it is taken when the other direction agrees.
  if (found !== null && found.at === 0 && bytes.length >= PROBE_ENOUGH) return { verdict: 'yes', evidence, weak: true };
  // Not one plausible frame header at any offset (text protocols: the length alone is far
  // too big): refuse now rather than hold back HTTP/1 after us. The engine asks again as
  // bytes arrive, so a capture that joined inside a long frame is still found later.
  if (found === null && bytes.length >= FRAME_HEADER_SIZE) return { verdict: 'no', evidence };
  return { verdict: bytes.length >= PROBE_ENOUGH ? 'no' : 'more', evidence };
}

export const http2Dissector: TcpDissector = {
  name: 'http2',
  detect: detectHttp2,
  create(ctx: StreamContext, init?: unknown): StreamParser {
    return new Http2Connection(ctx, init as Http2Init | undefined);
  },
};
