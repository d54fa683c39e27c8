// A request's command name, upper-cased, as one shared string per name. Why: the name is
// made for every command (hundreds of thousands a second on a busy connection) and looked up
// in several tables (keys, credentials, the subscribe family); a fresh string each time cost
// a slice, an upper-casing and a hash per lookup. A name seen before is found by a hash of
// its bytes, checked byte by byte, so a collision only means a fresh string.

/** Names longer than the longest Redis command (37, CLIENT-style module names aside) are not kept. */
const MAX_CACHED_LENGTH = 40;
/** Distinct names kept: a few hundred commands exist; junk past this just is not kept. */
const MAX_CACHED = 2048;

const cache = new Map<number, string>();

/** The command name in bytes[start, end), upper-cased; at most 64 bytes of it, as before. */
export function commandName(bytes: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > MAX_CACHED_LENGTH) return bytes.toString('latin1', start, Math.min(end, start + 64)).toUpperCase();
  let hash = length;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    // Only ASCII is kept: upper-casing Latin-1 can change a name's length (ß is SS).
    if (c >= 0x80) return bytes.toString('latin1', start, end).toUpperCase();
    hash = (Math.imul(hash, 31) + upperAscii(c)) | 0;
  }
  const known = cache.get(hash);
  if (known !== undefined && sameName(known, bytes, start, end)) return known;
  const name = bytes.toString('latin1', start, end).toUpperCase();
  if (known === undefined && cache.size < MAX_CACHED) cache.set(hash, name);
  return name;
}

function upperAscii(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

function sameName(name: string, bytes: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== upperAscii(bytes[start + i])) return false;
  return true;
}
