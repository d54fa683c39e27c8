// Deciding from the first bytes of a connection whether it speaks Kafka, on any port.
import type { Probe, Verdict } from '../types.js';
import { requestHeaderAt } from './header.js';

/** Offsets tried when the capture joined mid-connection. */
const midstreamScan = 4096;

export function detectKafka(probe: Probe): Verdict {
  const { client, server } = probe;
  if (client.length === 0) return server.length > 0 && !probe.midstream ? 'no' : 'more';
  const first = requestHeaderAt(client, 0);
  // A client request is one write: a short client message the server already answered is not Kafka.
  if (first === 'more') return server.length > 0 && !probe.midstream ? 'no' : 'more';
  if (first !== null) {
    // The next request, when it is already here, must be a frame too.
    const next = 4 + first.size;
    if (client.length >= next + 14 && requestHeaderAt(client, next) === null) return 'no';
    if (server.length >= 8) {
      const size = server.readInt32BE(0);
      if (size < 4 || size > 0x7fffffff) return 'no';
      return server.readInt32BE(4) === first.correlationId ? 'yes' : 'no';
    }
    // Without the server's bytes, a second valid request (or a whole first frame) is enough.
    return client.length >= next ? 'yes' : 'more';
  }
  if (!probe.midstream) return 'no';
  return findRequestBoundary(client) >= 0 ? 'yes' : client.length < midstreamScan ? 'more' : 'no';
}

/**
 * The first offset where a request starts and is followed by another request start (or the
 * end of the bytes), used after a gap or when joining mid-connection; -1 when none.
 */
export function findRequestBoundary(buf: Buffer): number {
  const limit = Math.min(buf.length - 14, midstreamScan);
  for (let off = 0; off <= limit; off++) {
    const h = requestHeaderAt(buf, off);
    if (h === null || h === 'more') continue;
    const next = off + 4 + h.size;
    if (next === buf.length) return off;
    if (next < buf.length - 14) {
      const n = requestHeaderAt(buf, next);
      if (n !== null && n !== 'more') return off;
    }
  }
  return -1;
}
