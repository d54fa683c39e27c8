// Link-layer headers: find where the IP header starts and which IP version it claims.
// Ethernet and Linux cooked headers carry an ethertype (possibly behind any number of
// 802.1Q / 802.1ad VLAN tags); BSD loopback carries an address family; raw IP carries nothing.

import { LinkType } from '../capture/frame.js';
import type { Stats } from '../stats.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const MAX_VLAN_TAGS = 8;

const AF_INET = 2;
// AF_INET6 differs by OS: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
const AF_INET6_VALUES = new Set([24, 28, 30]);

/** Result of `parseLink`: where the IP header starts (set when the result is 4 or 6). */
export interface LinkResult {
  ipOffset: number;
}

/** 4 or 6 for an IP packet at `out.ipOffset`; 0 when not IP (counted). */
export function parseLink(buf: Buffer, linkType: number, stats: Stats, out: LinkResult): 0 | 4 | 6 {
  switch (linkType) {
    case LinkType.ETHERNET:
      if (buf.length < 14) return malformed(stats);
      return etherType(buf, buf.readUInt16BE(12), 14, stats, out);
    case LinkType.LINUX_SLL:
      if (buf.length < 16) return malformed(stats);
      return etherType(buf, buf.readUInt16BE(14), 16, stats, out);
    case LinkType.LINUX_SLL2:
      if (buf.length < 20) return malformed(stats);
      return etherType(buf, buf.readUInt16BE(0), 20, stats, out);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (buf.length < 4) return malformed(stats);
      // DLT_NULL is host byte order of the writer, so accept either order for both types.
      let family = buf.readUInt32BE(0);
      if (family > 0xffff) family = buf.readUInt32LE(0);
      out.ipOffset = 4;
      if (family === AF_INET) return 4;
      if (AF_INET6_VALUES.has(family)) return 6;
      stats.add('decode.nonIp');
      return 0;
    }
    case LinkType.RAW:
      return versionNibble(buf, 0, stats, out);
    case LinkType.IPV4:
      out.ipOffset = 0;
      return 4;
    case LinkType.IPV6:
      out.ipOffset = 0;
      return 6;
    default:
      stats.add('decode.unsupportedLinkType');
      return 0;
  }
}

function etherType(buf: Buffer, type: number, payload: number, stats: Stats, out: LinkResult): 0 | 4 | 6 {
  for (let tags = 0; type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD; tags++) {
    if (tags === MAX_VLAN_TAGS || buf.length < payload + 4) return malformed(stats);
    type = buf.readUInt16BE(payload + 2);
    payload += 4;
  }
  out.ipOffset = payload;
  if (type === ETHERTYPE_IPV4) return 4;
  if (type === ETHERTYPE_IPV6) return 6;
  stats.add('decode.nonIp');
  return 0;
}

function versionNibble(buf: Buffer, off: number, stats: Stats, out: LinkResult): 0 | 4 | 6 {
  if (buf.length <= off) return malformed(stats);
  out.ipOffset = off;
  const version = buf[off]! >> 4;
  if (version === 4 || version === 6) return version;
  stats.add('decode.nonIp');
  return 0;
}

function malformed(stats: Stats): 0 {
  stats.add('decode.malformed.link');
  return 0;
}
