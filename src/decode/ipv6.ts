// IPv6: the fixed header, then the extension-header chain (hop-by-hop, routing, destination
// options, mobility, HIP, shim6, AH skipped; fragment reassembled; ESP and no-next-header
// end the packet, counted) up to TCP or UDP.

import type { Packet } from './packet.js';
import { countOtherProtocol, decodeTransport, PROTO_TCP, PROTO_UDP } from './transport.js';
import type { DecodeCore } from './core.js';

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const ESP = 50;
const AH = 51;
const NO_NEXT_HEADER = 59;
const DESTINATION_OPTIONS = 60;
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;
const MAX_EXTENSION_HEADERS = 16;

export function decodeIpv6(core: DecodeCore, buf: Buffer, off: number, snapTruncated: boolean, tsMicros: number): Packet | null {
  const stats = core.stats;
  const available = buf.length - off;
  if (available < 40 || buf[off]! >> 4 !== 6) {
    stats.add(available < 40 && snapTruncated ? 'decode.snapTruncated.header' : 'decode.malformed.ipv6');
    return null;
  }
  let payloadLength = buf.readUInt16BE(off + 4);
  // 0: a jumbogram or a GSO super-packet captured before segmentation.
  if (payloadLength === 0) payloadLength = available - 40;
  let truncated = false;
  if (40 + payloadLength > available) {
    if (!snapTruncated) {
      stats.add('decode.malformed.ipv6');
      return null;
    }
    stats.add('decode.snapTruncated');
    truncated = true;
    payloadLength = available - 40;
  }
  const srcIp = core.addresses.ipv6(buf, off + 8);
  const dstIp = core.addresses.ipv6(buf, off + 24);
  return extensionChain(core, buf, buf[off + 6]!, off + 40, off + 40 + payloadLength, truncated, srcIp, dstIp, tsMicros, true);
}

function extensionChain(
  core: DecodeCore,
  buf: Buffer,
  next: number,
  pos: number,
  end: number,
  truncated: boolean,
  srcIp: string,
  dstIp: string,
  tsMicros: number,
  fragmentable: boolean,
): Packet | null {
  const stats = core.stats;
  for (let count = 0; count <= MAX_EXTENSION_HEADERS; count++) {
    switch (next) {
      case PROTO_TCP:
      case PROTO_UDP:
        return decodeTransport(stats, next, buf, pos, end, truncated, 6, srcIp, dstIp, tsMicros);
      case HOP_BY_HOP:
      case ROUTING:
      case DESTINATION_OPTIONS:
      case MOBILITY:
      case HIP:
      case SHIM6:
      case AH: {
        if (end - pos < 8) return malformed(core, truncated);
        const length = next === AH ? (buf[pos + 1]! + 2) * 4 : (buf[pos + 1]! + 1) * 8;
        if (end - pos < length) return malformed(core, truncated);
        next = buf[pos]!;
        pos += length;
        break;
      }
      case FRAGMENT: {
        if (end - pos < 8 || !fragmentable) return malformed(core, truncated);
        const field = buf.readUInt16BE(pos + 2);
        const offset = field & 0xfff8;
        const more = (field & 1) !== 0;
        const inner = buf[pos]!;
        if (offset === 0 && !more) {
          // An atomic fragment (RFC 6946): the whole datagram, nothing to reassemble.
          next = inner;
          pos += 8;
          break;
        }
        if (truncated) {
          stats.add('decode.fragments.truncated');
          return null;
        }
        const key = `6|${srcIp}|${dstIp}|${buf.readUInt32BE(pos + 4)}`;
        const out = core.reassembled;
        const whole = core.fragments.add(key, tsMicros, offset, buf.subarray(pos + 8, end), more, inner, out);
        if (whole === null) return null;
        return extensionChain(core, whole, out.protocol, 0, whole.length, false, srcIp, dstIp, tsMicros, false);
      }
      case ESP:
        stats.add('decode.ipv6.esp');
        return null;
      case NO_NEXT_HEADER:
        stats.add('decode.ipv6.noNextHeader');
        return null;
      default:
        return countOtherProtocol(stats, next);
    }
  }
  stats.add('decode.malformed.ipv6');
  return null;
}

function malformed(core: DecodeCore, truncated: boolean): null {
  core.stats.add(truncated ? 'decode.snapTruncated.header' : 'decode.malformed.ipv6');
  return null;
}
