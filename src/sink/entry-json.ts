// The NDJSON line of an entry: byte for byte JSON.stringify(entry), with the envelope
// written from a template. Why: on node 20 JSON.stringify walks every property through its
// generic path, and the envelope (id, timestamp, elapsedMs, protocol, two endpoints) is most
// of a small entry's properties; writing it as text and leaving only request, response and
// summary to JSON.stringify took the printer from 1.9 to 1.5 µs per Redis entry (CPU time,
// 200k entries of the bench capture). A hand-written writer for the whole entry was measured
// before and was slower than JSON.stringify on HTTP entries, so the parts whose shape varies
// by protocol stay with it. Request, response and summary go to one JSON.stringify (of a
// three-key object, its braces cut off) rather than three: each call has its set-up cost, and
// on the Redis bench capture that was about 5% of the run (CPU 0.94-0.96 of before, medians of
// 5 and 10 pairs); neutral within the noise on gRPC and HTTP/1.1.
//
// The template is only used for what makeEntry (entry.ts) builds, in its key order, whose
// envelope values need no escaping: the id (hex and base 36), the ISO timestamp, the protocol
// name, numeric ports and textual IP addresses. Anything else (an entry named by the cluster
// resolver, or carrying the tapper's node and capture fields) goes to JSON.stringify whole.
// test/sink/entry-json.test.ts checks both agree on every testdata capture.

import type { Endpoint, Entry } from '../entry.js';

export function entryJson(entry: Entry): string {
  if (entry.node !== undefined || entry.capture !== undefined || !isBare(entry.src) || !isBare(entry.dst)) return JSON.stringify(entry);
  const elapsed = entry.elapsedMs === null || !Number.isFinite(entry.elapsedMs) ? 'null' : String(entry.elapsedMs);
  let line =
    `{"id":"${entry.id}","timestamp":"${entry.timestamp}","elapsedMs":${elapsed},"protocol":"${entry.protocol}",` +
    `"src":{"ip":"${entry.src.ip}","port":${entry.src.port}},"dst":{"ip":"${entry.dst.ip}","port":${entry.dst.port}},` +
    JSON.stringify({ request: entry.request, response: entry.response, summary: entry.summary }).slice(1, -1);
  if (entry.error !== undefined) line += `,"error":${JSON.stringify(entry.error)}`;
  if (entry.incomplete !== undefined) line += `,"incomplete":${entry.incomplete}`;
  if (entry.midstream !== undefined) line += `,"midstream":${entry.midstream}`;
  return `${line}}`;
}

/** An endpoint as makeEntry builds it: an address and a port, nothing named yet. */
function isBare(e: Endpoint): boolean {
  return (
    e.name === undefined && e.namespace === undefined && e.kind === undefined && e.pod === undefined &&
    e.workload === undefined && e.service === undefined && e.node === undefined && Number.isInteger(e.port)
  );
}
