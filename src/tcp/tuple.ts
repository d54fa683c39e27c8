// A connection's tuple as a string (what the closed tuples are remembered by) and the
// client/server guess for connections joined midstream.

import type { Packet } from '../decode/packet.js';

/**
 * One string per 4-tuple, the same for both directions: the endpoint with the higher port
 * (ties broken by address) goes first. Built from four parts, no sorting or allocation
 * beyond the string itself; only for a packet no open connection takes (TupleTable finds those).
 */
export function tupleKey(p: Packet): string {
  const srcFirst = p.srcPort > p.dstPort || (p.srcPort === p.dstPort && p.srcIp >= p.dstIp);
  return srcFirst
    ? p.srcIp + '|' + p.srcPort + '|' + p.dstIp + '|' + p.dstPort
    : p.dstIp + '|' + p.dstPort + '|' + p.srcIp + '|' + p.srcPort;
}

const wellKnownPortLimit = 1024;

/**
 * For a connection first seen mid-flow: is the packet's sender the client?
 * A well-known port (< 1024) marks the server when only one side has one; otherwise the
 * side with the higher port is the client (ephemeral ports are high); on equal ports the
 * sender is taken as the client. Deliberately simple: the engine may flip the orientation
 * later once a dissector recognises requests and responses by content.
 */
export function senderIsClientGuess(srcPort: number, dstPort: number): boolean {
  const srcWellKnown = srcPort < wellKnownPortLimit;
  const dstWellKnown = dstPort < wellKnownPortLimit;
  if (srcWellKnown !== dstWellKnown) return dstWellKnown;
  return srcPort >= dstPort;
}
