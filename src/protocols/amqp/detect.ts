// Recognises AMQP 0-9-1 by content: a client that opens with the protocol header
// "AMQP" 0 0 9 1, or (joined mid-connection) a first frame on either side that is a
// well-formed method frame of a known class. Ports are never consulted.

import type { Probe, Verdict } from '../types.js';
import { PROTOCOL_HEADER } from './frames.js';
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
  return laterMethodFrame(c) || laterMethodFrame(probe.server) ? 'yes' : 'no';
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
 * Joined mid-connection: a whole method frame of a known class starting in the first 4 KiB.
 * Never 'more': waiting here would hold back every dissector after this one in the registry.
 */
function laterMethodFrame(b: Buffer): boolean {
  const limit = Math.min(b.length, 4096);
  for (let i = b.indexOf(1); i >= 0 && i < limit; i = b.indexOf(1, i + 1)) {
    if (methodFrame(b.subarray(i)) === 'yes') return true;
  }
  return false;
}
