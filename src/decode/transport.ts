// TCP and UDP headers to a Packet. `end` is where the IP layer says the segment ends, so
// Ethernet padding never becomes payload; `truncated` says the capture's snaplen cut the
// segment short, in which case the payload is what was captured.

import type { Stats } from '../stats.js';
import type { Packet } from './packet.js';

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

const OTHER_PROTOCOL_COUNTERS: Record<number, string> = {
  1: 'decode.otherProtocol.icmp',
  2: 'decode.otherProtocol.igmp',
  47: 'decode.otherProtocol.gre',
  58: 'decode.otherProtocol.icmpv6',
  132: 'decode.otherProtocol.sctp',
};

export function countOtherProtocol(stats: Stats, protocol: number): null {
  stats.add(OTHER_PROTOCOL_COUNTERS[protocol] ?? 'decode.otherProtocol.other');
  return null;
}

export function decodeTransport(
  stats: Stats,
  protocol: number,
  buf: Buffer,
  start: number,
  end: number,
  truncated: boolean,
  ipVersion: 4 | 6,
  srcIp: string,
  dstIp: string,
  tsMicros: number,
): Packet | null {
  const length = end - start;
  if (protocol === PROTO_TCP) {
    if (length < 20) {
      stats.add(truncated ? 'decode.snapTruncated.header' : 'decode.malformed.tcp');
      return null;
    }
    const headerLength = (buf[start + 12]! >> 4) * 4;
    if (headerLength < 20 || headerLength > length) {
      stats.add(truncated && headerLength >= 20 ? 'decode.snapTruncated.header' : 'decode.malformed.tcp');
      return null;
    }
    return {
      tsMicros,
      ipVersion,
      srcIp,
      dstIp,
      transport: 'tcp',
      srcPort: buf.readUInt16BE(start),
      dstPort: buf.readUInt16BE(start + 2),
      seq: buf.readUInt32BE(start + 4),
      ack: buf.readUInt32BE(start + 8),
      flags: buf[start + 13]!,
      payload: buf.subarray(start + headerLength, end),
    };
  }
  if (protocol === PROTO_UDP) {
    if (length < 8) {
      stats.add(truncated ? 'decode.snapTruncated.header' : 'decode.malformed.udp');
      return null;
    }
    let udpLength = buf.readUInt16BE(start + 4);
    // 0 is an IPv6 jumbogram (RFC 2675) or a GSO super-packet: the IP length rules.
    if (udpLength === 0) udpLength = length;
    if (udpLength < 8 || (udpLength > length && !truncated)) {
      stats.add('decode.malformed.udp');
      return null;
    }
    return {
      tsMicros,
      ipVersion,
      srcIp,
      dstIp,
      transport: 'udp',
      srcPort: buf.readUInt16BE(start),
      dstPort: buf.readUInt16BE(start + 2),
      seq: 0,
      ack: 0,
      flags: 0,
      payload: buf.subarray(start + 8, start + Math.min(udpLength, length)),
    };
  }
  return countOtherProtocol(stats, protocol);
}
