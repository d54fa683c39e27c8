// One pcapng Interface Description Block as the packet blocks need it: the link type, the
// snaplen (for Simple Packet Blocks) and how to turn its timestamp units into microseconds.

export interface PcapngInterface {
  linkType: number;
  snaplen: number;
  /** Ticks per microsecond when the resolution is 10^-n with 6 <= n <= 12 (exact integer path). */
  divisor: number;
  /** floor(2^32 / divisor) and 2^32 mod divisor, for splitting the 64-bit tick count exactly. */
  q32: number;
  r32: number;
  /** Microseconds per tick for other resolutions (0 when the integer path is used). */
  scale: number;
  /** if_tsoffset, in microseconds. */
  offsetMicros: number;
}

const TWO_32 = 4294967296;
const OPT_END = 0;
const OPT_TSRESOL = 9;
const OPT_TSOFFSET = 14;

export function parseInterface(buf: Buffer, body: number, bodyEnd: number, le: boolean): PcapngInterface {
  const linkType = le ? buf.readUInt16LE(body) : buf.readUInt16BE(body);
  const snaplen = le ? buf.readUInt32LE(body + 4) : buf.readUInt32BE(body + 4);
  let tsresol = 6;
  let offsetSeconds = 0;
  let pos = body + 8;
  while (pos + 4 <= bodyEnd) {
    const code = le ? buf.readUInt16LE(pos) : buf.readUInt16BE(pos);
    const length = le ? buf.readUInt16LE(pos + 2) : buf.readUInt16BE(pos + 2);
    const value = pos + 4;
    if (code === OPT_END || value + length > bodyEnd) break;
    if (code === OPT_TSRESOL && length >= 1) tsresol = buf[value]!;
    if (code === OPT_TSOFFSET && length >= 8) {
      offsetSeconds = Number(le ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
    }
    pos = value + ((length + 3) & ~3);
  }
  return { linkType, snaplen, offsetMicros: offsetSeconds * 1_000_000, ...resolution(tsresol) };
}

function resolution(tsresol: number): Pick<PcapngInterface, 'divisor' | 'q32' | 'r32' | 'scale'> {
  const binary = (tsresol & 0x80) !== 0;
  const exponent = tsresol & 0x7f;
  if (!binary && exponent >= 6 && exponent <= 12) {
    const divisor = 10 ** (exponent - 6);
    return { divisor, q32: Math.floor(TWO_32 / divisor), r32: TWO_32 % divisor, scale: 0 };
  }
  const unitsPerSecond = binary ? 2 ** exponent : 10 ** exponent;
  return { divisor: 0, q32: 0, r32: 0, scale: 1_000_000 / unitsPerSecond };
}

/** Microseconds since the epoch for a 64-bit tick count split in `high` and `low` words. */
export function ticksToMicros(iface: PcapngInterface, high: number, low: number): number {
  const divisor = iface.divisor;
  if (divisor === 1) return high * TWO_32 + low + iface.offsetMicros;
  if (divisor > 1) {
    // high * 2^32 / d = high * q32 + high * r32 / d; every product stays below 2^53.
    return high * iface.q32 + Math.floor((high * iface.r32 + low) / divisor) + iface.offsetMicros;
  }
  return Math.floor((high * TWO_32 + low) * iface.scale) + iface.offsetMicros;
}
