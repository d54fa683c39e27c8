// Content-based detection of HTTP/1.x: the client's first bytes are a request line, or the
// server's first bytes a status line. Ports are never consulted. When the capture joined
// mid-connection, a start line at any line start inside the probe is enough, unless the
// lines say the reassembler's client/server guess is backwards.

import type { Probe, Verdict } from '../types.js';
import { LF, matchRequestLine, matchStatusLine, type LineMatch } from './syntax.js';

/** Midstream: how many probe bytes may show no start line before we say it is not HTTP/1. */
const MIDSTREAM_PATIENCE = 8 * 1024;

export function detectHttp1(probe: Probe): Verdict {
  const client = probe.client.length > 0 ? matchRequestLine(probe.client, 0, probe.client.length) : 'more';
  const server = probe.server.length > 0 ? matchStatusLine(probe.server, 0, probe.server.length) : 'more';
  if (client === 'yes' || server === 'yes') return 'yes';
  if (!probe.midstream) {
    // The client speaks first in HTTP/1; its bytes decide when there are any.
    if (probe.client.length > 0) return client;
    return server;
  }
  // The client/server guess may be backwards: status lines from the client's side or request
  // lines from the server's make the engine try the swapped orientation.
  if (startsWith(probe.client, matchStatusLine) || startsWith(probe.server, matchRequestLine)) return 'no';
  const clientLater = findStartLine(probe.client, matchRequestLine);
  const serverLater = findStartLine(probe.server, matchStatusLine);
  if (clientLater === 'yes' || serverLater === 'yes') return 'yes';
  if (findStartLine(probe.client, matchStatusLine) === 'yes' || findStartLine(probe.server, matchRequestLine) === 'yes') return 'no';
  if (clientLater === 'more' || serverLater === 'more') return 'more';
  return probe.client.length + probe.server.length < MIDSTREAM_PATIENCE ? 'more' : 'no';
}

function startsWith(buf: Buffer, match: (b: Buffer, pos: number, end: number) => LineMatch): boolean {
  return buf.length > 0 && match(buf, 0, buf.length) === 'yes';
}

/** Is there a start line after any LF in `buf`? 'more' when the last candidate is cut short. */
function findStartLine(buf: Buffer, match: (b: Buffer, pos: number, end: number) => LineMatch): LineMatch {
  let result: LineMatch = 'no';
  let nl = buf.indexOf(LF);
  while (nl !== -1 && nl + 1 < buf.length) {
    const m = match(buf, nl + 1, buf.length);
    if (m === 'yes') return 'yes';
    result = m === 'more' ? 'more' : result;
    nl = buf.indexOf(LF, nl + 1);
  }
  return result;
}
