// Address bytes to strings on the hot path: every packet needs two. Strings are cached by
// address (a flow's packets repeat the same few): IPv4 in a map cleared when full, IPv6 in
// a direct-mapped table keyed by the address words (no key string to build per lookup).
// Both stay bounded under address scans.

const MAX_CACHED = 4096;
const V6_SLOTS = 1024;

export class AddressCache {
  private readonly v4 = new Map<number, string>();
  private readonly v6Words = new Int32Array(V6_SLOTS * 4);
  private readonly v6Text: (string | undefined)[] = new Array<string | undefined>(V6_SLOTS).fill(undefined);

  ipv4(buf: Buffer, off: number): string {
    const key = buf.readUInt32BE(off);
    let text = this.v4.get(key);
    if (text === undefined) {
      if (this.v4.size >= MAX_CACHED) this.v4.clear();
      text = `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
      this.v4.set(key, text);
    }
    return text;
  }

  ipv6(buf: Buffer, off: number): string {
    const w0 = buf.readInt32BE(off);
    const w1 = buf.readInt32BE(off + 4);
    const w2 = buf.readInt32BE(off + 8);
    const w3 = buf.readInt32BE(off + 12);
    const slot = ((w0 ^ w1 ^ w2 ^ w3 ^ (w3 >>> 10) ^ (w3 >>> 20)) & (V6_SLOTS - 1)) * 4;
    const words = this.v6Words;
    const cached = this.v6Text[slot >> 2];
    if (cached !== undefined && words[slot] === w0 && words[slot + 1] === w1 && words[slot + 2] === w2 && words[slot + 3] === w3) return cached;
    const text = formatIpv6(buf, off);
    words[slot] = w0;
    words[slot + 1] = w1;
    words[slot + 2] = w2;
    words[slot + 3] = w3;
    this.v6Text[slot >> 2] = text;
    return text;
  }
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(buf: Buffer, off: number): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = buf.readUInt16BE(off + 2 * i);
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups.slice(bestStart + bestLength).map(hex).join(':');
  return `${head}::${tail}`;
}

/** A group in hex. Only cache misses get here: a 65,536-string table was 2 MB of heap in every process. */
function hex(group: number): string {
  return group.toString(16);
}
