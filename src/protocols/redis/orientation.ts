// Which side of a Redis connection joined mid-flow is the client, from what each side sends.
// A client only ever sends commands: arrays of bulk strings, or inline command lines. A
// server sends replies, and most replies have shapes no command has: simple strings (+OK),
// errors, integers, a top-level bulk string, nulls and the other RESP3 types, or arrays
// holding anything but bulk strings. An array of bulk strings (an LRANGE reply) looks like a
// command, so it counts for neither side.

import { NEED_MORE, readValue, type Resp } from './resp.js';

/** Top-level values read per direction: the first few exchanges settle it. */
const VALUES_PER_SIDE = 16;

/** How many values at the start of `buf` only a server sends; 0 when none or unreadable. */
export function replyOnlyValues(buf: Buffer): number {
  let count = 0;
  let pos = 0;
  for (let n = 0; n < VALUES_PER_SIDE && pos < buf.length; n++) {
    // An inline command line starts with a letter; no reply does.
    if (isLetter(buf[pos])) return count;
    let read;
    try {
      read = readValue(buf, pos);
    } catch {
      return count; // not RESP from here on (or joined mid-value): stop counting
    }
    if (read === NEED_MORE) return count;
    if (!commandShaped(read.value)) count += 1;
    pos = read.end;
  }
  return count;
}

/** Whether `buf` opens with an inline command line (a letter), which only a client sends. */
export function opensWithInlineCommand(buf: Buffer): boolean {
  return buf.length > 0 && isLetter(buf[0]);
}

function commandShaped(v: Resp): boolean {
  return v.kind === 'array' && v.items.length > 0 && v.items.every((item) => item.kind === 'bulk-string');
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}
