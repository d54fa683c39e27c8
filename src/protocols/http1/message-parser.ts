// One direction of an HTTP/1.x connection: turns ordered bytes into messages (head, body
// by Content-Length, chunked with trailers, or until close), resynchronises after gaps and
// malformed input by scanning for the next start line at a line start, and can hold its
// bytes while an Upgrade or CONNECT is being answered. What a message means (pairing,
// whether a response has a body) is decided by the MessageSink, i.e. the dissector.

import type { Stats } from '../../stats.js';
import { BodyCollector } from '../body-collector.js';
import type { KeptBytes } from '../kept-bytes.js';
import type { MemoryAccount } from '../../memory/budget.js';
import { ContiguousBytes } from '../contiguous-bytes.js';
import { parseFields, parseHead, type MessageHead } from './head.js';
import { CR, LF, MAX_START_LINE, matchRequestLine, matchStatusLine } from './syntax.js';

export interface HttpMessage {
  head: MessageHead;
  /** Time of the message's first byte, and of its last. */
  startMicros: number;
  endMicros: number;
  body: BodyCollector;
  trailers: Record<string, string> | null;
  incomplete: boolean;
}

/**
 * How the body after a head is delimited. 'stop' ends HTTP/1 parsing in this direction
 * right after the head (101 Switching Protocols, 2xx to CONNECT).
 */
export type Framing = 'none' | 'length' | 'chunked' | 'close' | 'stop';

export interface MessageSink {
  begin(message: HttpMessage): Framing;
  complete(message: HttpMessage): void;
  /** After a 'stop' head: the bytes beyond it in the same segment (valid during the call). */
  stopped(rest: Buffer, tsMicros: number): void;
}

export type HeldItem = { data: Buffer; missing: 0; ts: number } | { data: null; missing: number; ts: number };

/** Largest head (start line + fields) we accept, RFC 9112 leaves it to us. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest chunk-size line (with extensions). */
const MAX_CHUNK_LINE = 4 * 1024;
/** Bytes held while an Upgrade/CONNECT is answered. */
const MAX_HELD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const CLOSE = 6;
const RESYNC = 7;
const HOLD = 8;
const STOPPED = 9;

export class MessageParser {
  private state = HEAD;
  private readonly acc: ContiguousBytes;
  private lastTs = 0;
  private msg: HttpMessage | null = null;
  private remaining = 0;
  /** Bytes of a pending head already searched for its end, to resume the search. */
  private headScanned = 0;
  private headStartTs = -1;
  /** Set by a step that needs more bytes; the bytes from the returned position are kept. */
  private waiting = false;
  /** In RESYNC: whether the next byte is at a line start. */
  private lineStart = true;
  private holdAfterMessage = false;
  private held: HeldItem[] = [];
  private heldBytes = 0;
  private readonly matchStart: typeof matchRequestLine;

  constructor(
    private readonly isRequest: boolean,
    private readonly sink: MessageSink,
    private readonly stats: Stats,
    private readonly maxBody: number,
    midstream: boolean,
    private readonly kept: KeptBytes | null = null,
    buffers: MemoryAccount | null = null,
  ) {
    this.acc = new ContiguousBytes(MAX_HEAD_BYTES, buffers);
    this.matchStart = isRequest ? matchRequestLine : matchStatusLine;
    if (midstream) this.state = RESYNC;
  }

  /** After the message now being begun completes, keep further bytes until release()/takeHeld(). */
  holdAfterThisMessage(): void {
    this.holdAfterMessage = true;
  }

  get holding(): boolean {
    return this.state === HOLD;
  }

  /** Resume HTTP/1 parsing of the held bytes (the upgrade or CONNECT was refused). */
  release(): void {
    this.holdAfterMessage = false;
    if (this.state !== HOLD) return;
    this.state = HEAD;
    const items = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const item of items) {
      if (item.data) this.onData(item.data, item.ts);
      else this.onGap(item.missing, item.ts);
    }
  }

  /** Stop parsing for good and hand over what was held (the upgrade was accepted). */
  takeHeld(): HeldItem[] {
    this.state = STOPPED;
    const items = this.held;
    this.held = [];
    this.heldBytes = 0;
    return items;
  }

  /** Stop parsing for good (the connection turned into something else). */
  stop(): void {
    this.state = STOPPED;
    this.held = [];
    this.acc.release();
  }

  onData(data: Buffer, ts: number): void {
    if (this.state === STOPPED) return;
    if (this.state === HOLD) return this.hold(data, 0, data.length, ts);
    let buf = data;
    this.lastTs = ts;
    const fromAcc = this.acc.length > 0;
    if (fromAcc) {
      if (!this.acc.push(data)) return this.refused(data.length, ts);
      buf = this.acc.view();
    }
    const end = buf.length;
    let pos = 0;
    this.waiting = false;
    while (pos < end && !this.waiting) {
      switch (this.state) {
        case HEAD:
          pos = this.readHead(buf, pos, end, ts);
          break;
        case LENGTH:
        case CHUNK_DATA: {
          const msg = this.msg as HttpMessage;
          const n = Math.min(this.remaining, end - pos);
          msg.body.add(buf, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === LENGTH) this.finish(ts, false);
            else this.state = CHUNK_END;
          }
          break;
        }
        case CHUNK_SIZE:
          pos = this.readChunkSize(buf, pos, end, ts);
          break;
        case CHUNK_END:
          pos = this.readChunkEnd(buf, pos, end, ts);
          break;
        case TRAILERS:
          pos = this.readTrailers(buf, pos, end, ts);
          break;
        case CLOSE:
          (this.msg as HttpMessage).body.add(buf, pos, end);
          pos = end;
          break;
        case RESYNC:
          pos = this.resync(buf, pos, end);
          break;
        case HOLD:
          this.hold(buf, pos, end, ts);
          pos = end;
          break;
        default: // STOPPED
          this.sink.stopped(buf.subarray(pos, end), ts);
          pos = end;
      }
    }
    if (pos >= end) {
      if (fromAcc) this.acc.clear();
    } else if (fromAcc) {
      this.acc.consume(pos);
    } else if (!this.acc.push(data.subarray(pos))) {
      this.refused(end - pos, ts);
    }
  }

  /** Bytes held while waiting for the rest of a head or chunk line. */
  get buffered(): number {
    return this.acc.length;
  }

  /** The memory budget refused room for an unfinished head: it is lost, as to a gap. */
  private refused(n: number, ts: number): void {
    this.stats.add('http1.bytesDropped.memoryBudget', this.acc.length + n);
    this.onGap(n, ts);
  }

  /** The memory budget wants the unfinished head back: dropped, as to a gap, and counted. */
  shedBuffer(): void {
    this.stats.add('http1.bytesShed.memoryBudget', this.acc.length);
    this.onGap(0, this.lastTs);
    this.acc.release();
  }

  onGap(missing: number, ts: number): void {
    this.stats.add('http1.gaps');
    const msg = this.msg;
    switch (this.state) {
      case STOPPED:
        return;
      case HOLD:
        this.held.push({ data: null, missing, ts });
        return;
      case LENGTH:
        (msg as HttpMessage).incomplete = true;
        if (missing <= this.remaining) {
          // The framing survives: the body's content is unknown but its end is known.
          (msg as HttpMessage).body.markLost(missing);
          this.remaining -= missing;
          if (this.remaining === 0) this.finish(ts, true);
          return;
        }
        (msg as HttpMessage).body.markLost(this.remaining);
        this.finish(ts, true);
        break;
      case CLOSE:
        (msg as HttpMessage).body.markLost(missing);
        (msg as HttpMessage).incomplete = true;
        return;
      case CHUNK_SIZE:
      case CHUNK_DATA:
      case CHUNK_END:
      case TRAILERS:
        (msg as HttpMessage).body.markLost(missing);
        this.finish(ts, true);
        break;
      default: // HEAD (a partial head is lost with it) or RESYNC
        if (this.acc.length > 0) this.stats.add('http1.bytesSkipped', this.acc.length);
    }
    this.acc.clear();
    this.headScanned = 0;
    this.headStartTs = -1;
    this.holdAfterMessage = false;
    // The first byte after a gap is as good a candidate for a message start as any.
    this.state = RESYNC;
    this.lineStart = true;
  }

  /**
   * Ends the message in progress as complete if not one byte of its body was sent: used
   * for an `Expect: 100-continue` request that got its final response before the body and
   * whose client then closed instead of sending it (RFC 9110 10.1.1). False if not applicable.
   */
  endBodyNotSent(ts: number): boolean {
    const msg = this.msg;
    const atBodyStart = this.state === LENGTH || (this.state === CHUNK_SIZE && this.acc.length === 0);
    if (msg === null || !atBodyStart || msg.body.wireSize > 0 || msg.incomplete) return false;
    this.finish(ts, false);
    return true;
  }

  /** The connection ended: a close-delimited body is complete, anything else in progress is not. */
  onEnd(ts: number): void {
    if (this.state === CLOSE) {
      const msg = this.msg as HttpMessage;
      this.finish(ts, msg.incomplete);
    } else if (this.msg !== null) {
      this.finish(ts, true);
    } else if (this.acc.length > 0 && this.state !== STOPPED) {
      this.stats.add('http1.partialHeadsAtEnd');
    }
    this.acc.release();
    this.state = STOPPED;
  }

  private readHead(buf: Buffer, pos: number, end: number, ts: number): number {
    // Stray CRLF between messages (some clients add one after a body) is ignored (RFC 9112 2.2).
    if (this.headScanned === 0 && (buf[pos] === CR || buf[pos] === LF)) return pos + 1;
    const startTs = this.headStartTs >= 0 ? this.headStartTs : ts;
    const idx = buf.indexOf(CRLFCRLF, pos + Math.max(0, this.headScanned - 3));
    if (idx === -1) {
      if (end - pos > MAX_HEAD_BYTES) return this.malformed('http1.malformed.headTooLong', pos, ts);
      if (this.matchStart(buf, pos, end) === 'no') return this.malformed('http1.malformed.startLine', pos, ts);
      this.headScanned = end - pos;
      this.headStartTs = startTs;
      this.waiting = true;
      return pos;
    }
    const headEnd = idx + 4;
    this.headScanned = 0;
    this.headStartTs = -1;
    if (headEnd - pos > MAX_HEAD_BYTES) return this.malformed('http1.malformed.headTooLong', pos, ts);
    const head = parseHead(buf, pos, headEnd, this.isRequest);
    if (typeof head === 'string') return this.malformed('http1.malformed.head', pos, ts);
    const msg: HttpMessage = {
      head,
      startMicros: startTs,
      endMicros: startTs,
      body: new BodyCollector(this.maxBody, head.contentEncoding, this.stats, 'http1', this.kept),
      trailers: null,
      incomplete: false,
    };
    this.msg = msg;
    switch (this.sink.begin(msg)) {
      case 'length':
        this.remaining = head.contentLength ?? 0;
        if (this.remaining === 0) this.finish(ts, false);
        else this.state = LENGTH;
        break;
      case 'chunked':
        this.state = CHUNK_SIZE;
        break;
      case 'close':
        this.state = CLOSE;
        break;
      case 'stop':
        this.finish(ts, false);
        this.state = STOPPED;
        break;
      default:
        this.finish(ts, false);
    }
    return headEnd;
  }

  private readChunkSize(buf: Buffer, pos: number, end: number, ts: number): number {
    const lf = buf.indexOf(LF, pos);
    if (lf === -1) {
      if (end - pos > MAX_CHUNK_LINE) return this.malformed('http1.malformed.chunkSize', pos, ts);
      this.waiting = true;
      return pos;
    }
    let size = 0;
    let i = pos;
    for (; i < lf; i++) {
      const b = buf[i];
      const digit = b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
      if (digit < 0) break;
      size = size * 16 + digit;
      if (i - pos >= 12) return this.malformed('http1.malformed.chunkSize', pos, ts);
    }
    const next = buf[i];
    const validEnd = next === CR || next === LF || next === 0x3b /* ; */ || next === 0x20 || next === 0x09;
    if (i === pos || !validEnd) return this.malformed('http1.malformed.chunkSize', pos, ts);
    if (size === 0) this.state = TRAILERS;
    else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return lf + 1;
  }

  private readChunkEnd(buf: Buffer, pos: number, end: number, ts: number): number {
    if (buf[pos] === LF) {
      this.state = CHUNK_SIZE;
      return pos + 1;
    }
    if (buf[pos] !== CR) return this.malformed('http1.malformed.chunkEnd', pos, ts);
    if (pos + 1 >= end) {
      this.waiting = true;
      return pos;
    }
    if (buf[pos + 1] !== LF) return this.malformed('http1.malformed.chunkEnd', pos, ts);
    this.state = CHUNK_SIZE;
    return pos + 2;
  }

  private readTrailers(buf: Buffer, pos: number, end: number, ts: number): number {
    const msg = this.msg as HttpMessage;
    if (buf[pos] === LF) {
      this.finish(ts, false);
      return pos + 1;
    }
    if (buf[pos] === CR) {
      if (pos + 1 >= end) {
        this.waiting = true;
        return pos;
      }
      if (buf[pos + 1] === LF) {
        this.finish(ts, false);
        return pos + 2;
      }
    }
    const idx = buf.indexOf(CRLFCRLF, pos);
    if (idx === -1) {
      if (end - pos > MAX_HEAD_BYTES) return this.malformed('http1.malformed.trailers', pos, ts);
      this.waiting = true;
      return pos;
    }
    const trailers: Record<string, string> = {};
    if (parseFields(buf, pos, idx + 4, trailers) !== null) return this.malformed('http1.malformed.trailers', pos, ts);
    msg.trailers = trailers;
    this.finish(ts, false);
    return idx + 4;
  }

  /** Skips to the next line start that begins a start line of this direction. */
  private resync(buf: Buffer, pos: number, end: number): number {
    let candidate = this.lineStart ? pos : nextLineStart(buf, pos, end);
    while (candidate !== -1 && candidate < end) {
      const match = this.matchStart(buf, candidate, end);
      if (match === 'yes' || (match === 'more' && end - candidate <= MAX_START_LINE)) {
        if (candidate > pos) this.stats.add('http1.bytesSkipped', candidate - pos);
        this.lineStart = true;
        if (match === 'yes') this.state = HEAD;
        else this.waiting = true;
        return candidate;
      }
      candidate = nextLineStart(buf, candidate, end);
    }
    this.stats.add('http1.bytesSkipped', end - pos);
    this.lineStart = buf[end - 1] === LF;
    return end;
  }

  private malformed(counter: string, pos: number, ts: number): number {
    this.stats.add('http1.malformed');
    this.stats.add(counter);
    if (this.msg !== null) this.finish(ts, true);
    this.headScanned = 0;
    this.headStartTs = -1;
    this.holdAfterMessage = false;
    this.state = RESYNC;
    this.lineStart = false;
    return pos;
  }

  private finish(ts: number, incomplete: boolean): void {
    const msg = this.msg as HttpMessage;
    this.msg = null;
    msg.endMicros = ts;
    if (incomplete) msg.incomplete = true;
    this.state = this.holdAfterMessage ? HOLD : HEAD;
    this.holdAfterMessage = false;
    this.sink.complete(msg);
  }

  private hold(buf: Buffer, start: number, end: number, ts: number): void {
    const n = end - start;
    if (this.heldBytes + n > MAX_HELD_BYTES) {
      this.stats.add('http1.heldBytesDropped', n);
      return;
    }
    this.held.push({ data: Buffer.from(buf.subarray(start, end)), missing: 0, ts });
    this.heldBytes += n;
  }
}

function nextLineStart(buf: Buffer, pos: number, end: number): number {
  const lf = buf.indexOf(LF, pos);
  return lf === -1 || lf >= end ? -1 : lf + 1;
}
