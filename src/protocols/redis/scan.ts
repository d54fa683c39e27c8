// Finds where one complete RESP message ends without building it, resumably: bytes arrive in
// arbitrary pieces (down to one byte per TCP segment), and re-parsing a large reply from its
// start on every piece would cost quadratic time. The scanner remembers how far it got
// (offsets relative to the message start, open aggregates as a stack of remaining counts);
// once it reports the end, the caller parses the whole message once with resp.ts/request.ts.

import { RespError, parseDecimal } from './resp.js';

/** Longest header line or inline command accepted (Redis: PROTO_INLINE_MAX_SIZE). */
const MAX_LINE = 64 * 1024;
/** Open aggregates deeper than this are garbage (resp.ts refuses them too). */
const MAX_DEPTH = 32;

export class RespScanner {
  /** Next token's offset from the message start. */
  private pos = 0;
  /** Items still due in each open aggregate, innermost last. */
  private readonly stack: number[] = [];
  /** Offset (from the message start) where a bulk payload being awaited ends, or -1. */
  private bulkEnd = -1;
  /** That bulk's header line and payload offsets (from the message start). */
  private bulkHeader = 0;
  private bulkPayload = 0;

  /**
   * @param inlineAllowed client side: a message not starting with '*' is an inline command line.
   */
  constructor(private readonly inlineAllowed: boolean) {}

  /** Nothing of a message scanned yet. */
  get idle(): boolean {
    return this.pos === 0 && this.stack.length === 0 && this.bulkEnd < 0;
  }

  reset(): void {
    this.pos = 0;
    this.stack.length = 0;
    this.bulkEnd = -1;
  }

  /** End offset (absolute) of the message that starts at `start`, or -1 when it is not all here. */
  scan(buf: Buffer, start: number, end: number): number {
    if (this.inlineAllowed && this.pos === 0 && this.stack.length === 0 && this.bulkEnd < 0 && start < end && buf[start] !== 0x2a) {
      return this.scanInline(buf, start, end);
    }
    while (true) {
      if (this.bulkEnd >= 0) {
        if (end - start < this.bulkEnd) return -1;
        this.pos = this.bulkEnd;
        this.bulkEnd = -1;
        if (this.valueDone()) return start + this.pos;
        continue;
      }
      const at = start + this.pos;
      if (at >= end) return -1;
      const cr = buf.indexOf(0x0d, at);
      if (cr < 0 || cr >= end - 1) {
        if (end - at > MAX_LINE) throw new RespError('header line too long');
        return -1;
      }
      const lineEnd = cr + 2 - start;
      const type = buf[at];
      switch (type) {
        case 0x24: // $ ! = : bulk payload follows
        case 0x21:
        case 0x3d: {
          const len = parseDecimal(buf, at + 1, cr);
          this.pos = lineEnd;
          if (len < 0) {
            if (this.valueDone()) return start + this.pos;
          } else {
            this.bulkEnd = lineEnd + len + 2;
            this.bulkHeader = at - start;
            this.bulkPayload = lineEnd;
          }
          continue;
        }
        case 0x2a: // * ~ > % |: aggregates
        case 0x7e:
        case 0x3e:
        case 0x25:
        case 0x7c: {
          const count = parseDecimal(buf, at + 1, cr);
          this.pos = lineEnd;
          const items = type === 0x25 ? count * 2 : type === 0x7c ? count * 2 + 1 : count;
          if (items <= 0) {
            if (this.valueDone()) return start + this.pos;
          } else {
            if (this.stack.length >= MAX_DEPTH) throw new RespError('nesting too deep');
            this.stack.push(items);
          }
          continue;
        }
        default:
          // One-line values; resp.ts checks their content.
          this.pos = lineEnd;
          if (this.valueDone()) return start + this.pos;
      }
    }
  }

  /**
   * When the message is waiting for a bulk payload that is its very last item (a large GET
   * reply, a large SET value), where that bulk starts and where the message will end: the
   * caller may then cut the payload short instead of buffering all of it.
   */
  cuttable(): { header: number; payload: number; end: number } | null {
    if (this.bulkEnd < 0 || this.stack.some((remaining) => remaining !== 1)) return null;
    return { header: this.bulkHeader, payload: this.bulkPayload, end: this.bulkEnd };
  }

  /** A value ended at pos: count it in its aggregate; true when the whole message is done. */
  private valueDone(): boolean {
    while (this.stack.length > 0) {
      const top = this.stack.length - 1;
      this.stack[top] -= 1;
      if (this.stack[top] > 0) return false;
      this.stack.pop();
    }
    return true;
  }

  private scanInline(buf: Buffer, start: number, end: number): number {
    const lf = buf.indexOf(0x0a, start + this.pos);
    if (lf < 0 || lf >= end) {
      if (end - start > MAX_LINE) throw new RespError('inline line too long');
      this.pos = end - start; // resume the search here; pos > 0 keeps us in inline mode
      return -1;
    }
    return lf + 1;
  }
}
