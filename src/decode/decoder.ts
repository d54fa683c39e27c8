// Frame -> Packet: link layer, IPv4/IPv6 (fragments reassembled), TCP/UDP. The packet's
// payload is a view on the frame's bytes (or on a reassembled copy), never copied. Anything
// else returns null and is counted in Stats under decode.*; nothing here throws.

import type { Frame } from '../capture/frame.js';
import type { MemoryBudget } from '../memory/budget.js';
import type { Stats } from '../stats.js';
import type { DecodeCore } from './core.js';
import { DEFAULT_FRAGMENT_LIMITS, FragmentReassembler, type FragmentLimits } from './fragments.js';
import { AddressCache } from './ip-address.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { parseLink, type LinkResult } from './link.js';
import type { Packet } from './packet.js';

export type DecoderLimits = FragmentLimits;

export class PacketDecoder implements DecodeCore {
  readonly addresses = new AddressCache();
  readonly fragments: FragmentReassembler;
  readonly reassembled = { protocol: 0 };
  private readonly link: LinkResult = { ipOffset: 0 };

  constructor(
    readonly stats: Stats,
    limits: Partial<DecoderLimits> = {},
    memory?: MemoryBudget,
  ) {
    this.fragments = new FragmentReassembler(stats, { ...DEFAULT_FRAGMENT_LIMITS, ...limits }, memory);
  }

  decode(frame: Frame): Packet | null {
    const data = frame.data;
    const version = parseLink(data, frame.linkType, this.stats, this.link);
    if (version === 0) return null;
    const snapTruncated = frame.originalLength > data.length;
    return version === 4
      ? decodeIpv4(this, data, this.link.ipOffset, snapTruncated, frame.tsMicros)
      : decodeIpv6(this, data, this.link.ipOffset, snapTruncated, frame.tsMicros);
  }
}
