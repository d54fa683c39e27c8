// Deciding from the first bytes of a connection whether it speaks Kafka, on any port.
import type { Probe, Verdict } from '../types.js';
import { maxPlausibleFrame, requestHeaderAt, type RequestHeader } from './header.js';
import { KafkaReader } from './reader.js';

const PRODUCE = 0;
/** Legal topic names: 1-249 of [a-zA-Z0-9._-]. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Offsets tried when the capture joined mid-connection. */
const midstreamScan = 4096;

export function detectKafka(probe: Probe): Verdict {
  const { client, server } = probe;
  if (client.length === 0) {
    if (!probe.midstream) return server.length > 0 ? 'no' : 'more';
    // Joined mid-flow with only the other side heard from: refuse bytes that cannot be a
    // response frame (so text protocols are not held back), or that are requests (swapped).
    if (server.length >= 4 && !plausibleResponseSize(server.readInt32BE(0))) return 'no';
    return findRequestBoundary(server) === 0 ? 'no' : 'more';
  }
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
    // Without the server's bytes, a second valid request (or a whole first frame) is enough;
    // a first Produce too large to be here whole (and maybe never answered: acks=0) is
    // judged by what its body starts with.
    if (client.length >= next) return 'yes';
    return first.apiKey === PRODUCE && plausibleProduceStart(client, first) ? 'yes' : 'more';
  }
  if (!probe.midstream) return 'no';
  const boundary = findRequestBoundary(client);
  if (boundary >= 0) return orientation(client.subarray(boundary), server);
  // Wait only while some offset could still start a request: text protocols (Redis, HTTP)
  // never can, and saying 'more' for them would hold back every dissector after this one.
  return client.length < midstreamScan && anyRequestCandidate(client) ? 'more' : 'no';
}

/**
 * Joined mid-flow the client/server guess may be backwards, and a response whose correlation
 * id is small can pass for a request header. Responses echo the correlation ids of requests:
 * if the ids of this side's "requests" come back from the other side, the orientation holds;
 * if it is the other way round, it is swapped and the engine tries the other orientation.
 */
function orientation(requests: Buffer, server: Buffer): Verdict {
  const forward = echoedIds(requests, server);
  const backward = findRequestBoundary(server) === 0 ? echoedIds(server, requests) : 0;
  return backward > forward ? 'no' : 'yes';
}

/** Frames compared per side when matching correlation ids. */
const framesCompared = 16;

/** How many of the responses framed in `responses` carry a correlation id of a request in `requests`. */
function echoedIds(requests: Buffer, responses: Buffer): number {
  const ids = new Set<number>();
  for (let off = 0, n = 0; n < framesCompared; n++) {
    const h = requestHeaderAt(requests, off);
    if (h === null || h === 'more') break;
    ids.add(h.correlationId);
    off += 4 + h.size;
  }
  let echoed = 0;
  for (let off = 0, n = 0; n < framesCompared && off + 8 <= responses.length; n++) {
    const size = responses.readInt32BE(off);
    if (size < 4) break;
    if (ids.has(responses.readInt32BE(off + 4))) echoed += 1;
    off += 4 + size;
  }
  return echoed;
}

function plausibleResponseSize(size: number): boolean {
  return size >= 4 && size <= maxPlausibleFrame;
}

/** Whether any offset in the scan window holds a plausible (or still cut short) request header. */
function anyRequestCandidate(buf: Buffer): boolean {
  const limit = Math.min(buf.length - 4, midstreamScan);
  for (let off = 0; off <= limit; off++) if (requestHeaderAt(buf, off) !== null) return true;
  return buf.length < 4;
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
    // A request larger than what is here, starting right where the bytes start (segments
    // begin at message boundaries): its size must not decide whether it is found.
    if (off === 0 && next > buf.length) return off;
    if (next < buf.length - 14) {
      const n = requestHeaderAt(buf, next);
      if (n !== null && n !== 'more') return off;
    }
  }
  return -1;
}

/**
 * Whether the bytes after a Produce request header read as the start of a Produce body:
 * transactional id (v3+), acks of -1, 0 or 1, a timeout, one or more topics whose first has a
 * legal name and one or more partitions. Versions that name topics by id (v13+) are not judged.
 */
function plausibleProduceStart(buf: Buffer, h: RequestHeader): boolean {
  if (h.apiVersion >= 13) return false;
  const r = new KafkaReader(buf, h.headerLength);
  const flex = h.flexible;
  try {
    if (h.apiVersion >= 3) {
      const id = r.string(flex);
      if (id !== null && !/^[\x20-\x7e]{0,512}$/.test(id)) return false;
    }
    const acks = r.int16();
    const timeout = r.int32();
    if (acks < -1 || acks > 1 || timeout < 0 || timeout > 3_600_000) return false;
    const topics = flex ? r.uvarint() - 1 : r.int32();
    if (topics < 1 || topics > 10_000) return false;
    const name = r.string(flex);
    if (name === null || !TOPIC_NAME.test(name)) return false;
    const partitions = flex ? r.uvarint() - 1 : r.int32();
    return partitions >= 1 && partitions <= 100_000 && r.int32() >= 0;
  } catch {
    return false; // the bytes ended (or did not fit) before a verdict
  }
}
