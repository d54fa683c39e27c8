// What the IP-layer decoders share: counters, the address-string cache, the fragment
// reassembler and a scratch slot for its result.

import type { Stats } from '../stats.js';
import type { AddressCache } from './ip-address.js';
import type { FragmentReassembler } from './fragments.js';

export interface DecodeCore {
  readonly stats: Stats;
  readonly addresses: AddressCache;
  readonly fragments: FragmentReassembler;
  readonly reassembled: { protocol: number };
}
