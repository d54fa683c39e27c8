// IPv4: header checks, options skipped by IHL, segment bounded by the total length (0 means
// a TSO/GSO super-packet captured before segmentation: the captured length rules, as in
// Wireshark), fragments handed to the reassembler. Checksums are not verified: captures
// taken on the sending host carry offloaded, not-yet-computed checksums.

import type { Packet } from './packet.js';
import { decodeTransport } from './transport.js';
import type { DecodeCore } from './core.js';

const FLAG_MORE_FRAGMENTS = 0x2000;
const OFFSET_MASK = 0x1fff;

export function decodeIpv4(core: DecodeCore, buf: Buffer, off: number, snapTruncated: boolean, tsMicros: number): Packet | null {
  const stats = core.stats;
  const available = buf.length - off;
  if (available < 20 || buf[off]! >> 4 !== 4) {
    stats.add(available < 20 && snapTruncated ? 'decode.snapTruncated.header' : 'decode.malformed.ipv4');
    return null;
  }
  const headerLength = (buf[off]! & 0x0f) * 4;
  let totalLength = buf.readUInt16BE(off + 2);
  if (totalLength === 0) totalLength = available;
  if (headerLength < 20 || headerLength > available || totalLength < headerLength) {
    stats.add('decode.malformed.ipv4');
    return null;
  }
  let truncated = false;
  if (totalLength > available) {
    if (!snapTruncated) {
      stats.add('decode.malformed.ipv4');
      return null;
    }
    stats.add('decode.snapTruncated');
    truncated = true;
    totalLength = available;
  }
  const protocol = buf[off + 9]!;
  const srcIp = core.addresses.ipv4(buf, off + 12);
  const dstIp = core.addresses.ipv4(buf, off + 16);
  const fragment = buf.readUInt16BE(off + 6);
  const start = off + headerLength;
  const end = off + totalLength;
  if ((fragment & (FLAG_MORE_FRAGMENTS | OFFSET_MASK)) === 0) {
    return decodeTransport(stats, protocol, buf, start, end, truncated, 4, srcIp, dstIp, tsMicros);
  }
  if (truncated) {
    stats.add('decode.fragments.truncated');
    return null;
  }
  const key = `4|${srcIp}|${dstIp}|${protocol}|${buf.readUInt16BE(off + 4)}`;
  const out = core.reassembled;
  const whole = core.fragments.add(key, tsMicros, (fragment & OFFSET_MASK) * 8, buf.subarray(start, end), (fragment & FLAG_MORE_FRAGMENTS) !== 0, protocol, out);
  if (whole === null) return null;
  return decodeTransport(stats, out.protocol, whole, 0, whole.length, false, 4, srcIp, dstIp, tsMicros);
}
