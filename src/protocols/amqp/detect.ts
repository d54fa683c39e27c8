// Recognises AMQP 0-9-1 by content: a client that opens with the protocol header
// "AMQP" 0 0 9 1, or (joined mid-connection) a first frame on either side that is a
// well-formed method frame of a known class. Ports are never consulted.

import type { Probe, Verdict } from '../types.js';
import { PROTOCOL_HEADER } from './frames.js';
import { methodEvidence } from './orientation.js';
import { methodById } from './spec.js';

export function detectAmqp(probe: Probe): Verdict {
  const c = probe.client;
  if (c.length > 0 && c[0] === 0x41) {
    const n = Math.min(c.length, PROTOCOL_HEADER.length);
    if (!c.subarray(0, n).equals(PROTOCOL_HEADER.subarray(0, n))) return 'no';
    return n === PROTOCOL_HEADER.length ? 'yes' : 'more';
  }
  if (!probe.midstream) return c.length === 0 ? (probe.server.length === 0 ? 'more' : 'no') : 'no';
  if (c.length === 0 && probe.server.length === 0) return 'more';
  const fromClient = laterMethodFrame(c);
  const fromServer = laterMethodFrame(probe.server);
  if (fromClient < 0 && fromServer < 0) return 'no';
  // The client/server guess may be backwards: methods only one side sends decide, and
  // contradicting ones make the engine try the swapped orientation.
  const c1 = fromClient < 0 ? null : methodEvidence(c, fromClient);
  const s1 = fromServer < 0 ? null : methodEvidence(probe.server, fromServer);
  const agree = (c1?.clientMethods ?? 0) + (s1?.serverMethods ?? 0);
  const disagree = (c1?.serverMethods ?? 0) + (s1?.clientMethods ?? 0);
  return disagree > agree ? 'no' : 'yes';
}

/** type 1, channel, size, a known class and method, frame-end 0xCE where the size says. */
function methodFrame(b: Buffer): Verdict {
  if (b.length === 0) return 'more';
  if (b[0] !== 1) return 'no';
  if (b.length < 11) return 'more';
  const size = b.readUInt32BE(3);
  if (size < 4 || size > 1024 * 1024) return 'no';
  if (!methodById(b.readUInt16BE(7), b.readUInt16BE(9))) return 'no';
  if (b.length < 8 + size) return b.length >= 64 * 1024 ? 'no' : 'more';
  return b[7 + size] === 0xce ? 'yes' : 'no';
}

/**
 * Joined mid-connection: the offset of a whole method frame of a known class starting in the
 * first 4 KiB, -1 when none.
 * Never 'more': waiting here would hold back every dissector after this one in the registry.
 */
function laterMethodFrame(b: Buffer): number {
  const limit = Math.min(b.length, 4096);
  for (let i = b.indexOf(1); i >= 0 && i < limit; i = b.indexOf(1, i + 1)) {
    if (methodFrame(b.subarray(i)) === 'yes') return i;
  }
  return -1;
}
