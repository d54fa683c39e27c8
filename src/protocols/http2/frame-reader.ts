// Cuts one direction's ordered bytes into HTTP/2 frames. Non-DATA frames are handed over
// whole; DATA payloads are streamed piece by piece as they arrive (never buffered here), so a
// large body costs no copy. After a capture gap the reader stays in step when the lost bytes
// lay inside the current frame's payload, and otherwise scans for a plausible frame header
// chain (frames.ts) before it trusts a boundary again.

import type { MemoryAccount } from '../../memory/budget.js';
import type { Stats } from '../../stats.js';
import { CHUNK_COST, HeldCharge } from '../kept-bytes.js';
import {
  CLIENT_PREFACE,
  FRAME_HEADER_SIZE,
  Flag,
  FrameType,
  findFrameBoundary,
  readFrameHeader,
  type FrameHeader,
} from './frames.js';

export interface FrameHandler {
  /** A whole non-DATA frame; `payload` is only valid during the call. */
  onFrame(header: FrameHeader, payload: Buffer, tsMicros: number): void;
  /** Part of a DATA frame's payload (padding removed); only valid during the call. */
  onDataPiece(streamId: number, piece: Buffer, tsMicros: number): void;
  /** A DATA frame ended; `endStream` when it carried END_STREAM. */
  onDataEnd(streamId: number, endStream: boolean, tsMicros: number): void;
  /** A frame was lost or skipped: header blocks may be missing, `streamId` 0 when unknown. */
  onLost(streamId: number, headerBlockLost: boolean, tsMicros: number): void;
}

const enum Mode {
  Preface,
  Header,
  Payload,
  PadLength,
  Data,
  Skip,
  Resync,
}

/** Frames larger than this are skipped, not buffered (SETTINGS_MAX_FRAME_SIZE may be 16 MiB). */
const MAX_BUFFERED_FRAME = 1 << 20;
/** Bytes kept while looking for a frame boundary after a gap. */
const MAX_RESYNC_BUFFER = 2 * MAX_BUFFERED_FRAME;
/** Consecutive plausible frames that confirm a boundary. */
const RESYNC_CHAIN = 3;

export class FrameReader {
  private mode: Mode;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** The account's charge for `pending` (its bytes, and CHUNK_COST a piece). */
  private readonly charge: HeldCharge;
  private header: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  /** Data bytes (Data mode) or bytes to skip (Skip mode) left in the current frame. */
  private left = 0;
  private padding = 0;

  /**
   * @param account where the bytes of unfinished frames are charged ('app.buffers'); a stash
   *   the budget refuses drops the frame, as a gap would.
   */
  constructor(
    private readonly handler: FrameHandler,
    private readonly stats: Stats,
    start: 'preface' | 'frames' | 'resync',
    account: MemoryAccount | null = null,
  ) {
    this.charge = new HeldCharge(account);
    this.mode = start === 'preface' ? Mode.Preface : start === 'frames' ? Mode.Header : Mode.Resync;
  }

  push(data: Buffer, ts: number): void {
    let pos = 0;
    const len = data.length;
    while (true) {
      const mode = this.mode;
      if (mode === Mode.Data || mode === Mode.Skip) {
        if (this.left === 0) {
          this.finishStreamedFrame(ts);
          continue;
        }
        if (pos >= len) return;
        const take = Math.min(this.left, len - pos);
        if (mode === Mode.Data) this.handler.onDataPiece(this.header.streamId, data.subarray(pos, pos + take), ts);
        pos += take;
        this.left -= take;
        continue;
      }
      if (mode === Mode.Resync) {
        if (pos < len) this.stash(data.subarray(pos));
        this.resync(ts);
        return;
      }
      const need = mode === Mode.Preface ? CLIENT_PREFACE.length : mode === Mode.Header ? FRAME_HEADER_SIZE : mode === Mode.PadLength ? 1 : this.header.length;
      if (this.pendingLength + len - pos < need) {
        if (pos < len) this.stash(data.subarray(pos));
        return;
      }
      let buf: Buffer;
      let at: number;
      if (this.pendingLength === 0) {
        buf = data;
        at = pos;
        pos += need;
      } else {
        const take = need - this.pendingLength;
        this.pending.push(data.subarray(pos, pos + take));
        buf = Buffer.concat(this.pending);
        at = 0;
        pos += take;
        this.dropPending();
      }
      this.consume(buf, at, ts);
    }
  }

  /**
   * `missing` bytes were never captured. Lost bytes inside the current frame's payload keep us
   * in step; otherwise we look for a frame boundary again.
   */
  gap(missing: number, ts: number): void {
    const mode = this.mode;
    if ((mode === Mode.Data || mode === Mode.Skip) && missing <= this.left) {
      this.left -= missing;
      if (mode === Mode.Data) this.handler.onLost(this.header.streamId, false, ts);
      return;
    }
    if (mode === Mode.Data && missing <= this.left + this.padding) {
      this.handler.onLost(this.header.streamId, false, ts);
      this.mode = Mode.Skip;
      this.left = this.left + this.padding - missing;
      this.padding = 0;
      return;
    }
    if (mode === Mode.Payload && this.pendingLength + missing <= this.header.length) {
      // A non-DATA frame lost some of its payload: skip the rest of it.
      this.mode = Mode.Skip;
      this.left = this.header.length - this.pendingLength - missing;
      this.dropPending();
      this.lostCurrentFrame(ts);
      return;
    }
    this.stats.add('http2.gapResyncs');
    if (mode === Mode.Data) this.handler.onLost(this.header.streamId, false, ts);
    this.handler.onLost(0, true, ts);
    this.dropPending();
    this.mode = Mode.Resync;
  }

  private consume(buf: Buffer, at: number, ts: number): void {
    switch (this.mode) {
      case Mode.Preface:
        if (buf.compare(CLIENT_PREFACE, 0, CLIENT_PREFACE.length, at, at + CLIENT_PREFACE.length) === 0) {
          this.mode = Mode.Header;
        } else {
          this.stats.add('http2.badPreface');
          this.mode = Mode.Resync;
          this.stash(buf.subarray(at, at + CLIENT_PREFACE.length));
        }
        return;
      case Mode.Header:
        this.onHeader(readFrameHeader(buf, at), ts);
        return;
      case Mode.PadLength: {
        const padLength = buf[at];
        const dataLength = this.header.length - 1 - padLength;
        if (dataLength < 0) {
          this.stats.add('http2.malformedFrames');
          this.mode = Mode.Skip;
          this.left = this.header.length - 1;
          this.lostCurrentFrame(ts);
          return;
        }
        this.mode = Mode.Data;
        this.left = dataLength;
        this.padding = padLength;
        return;
      }
      case Mode.Payload:
        this.mode = Mode.Header;
        this.handler.onFrame(this.header, buf.subarray(at, at + this.header.length), ts);
        return;
      default:
        return;
    }
  }

  private onHeader(header: FrameHeader, ts: number): void {
    this.header = header;
    if (header.type === FrameType.Data) {
      if ((header.flags & Flag.Padded) !== 0) {
        if (header.length === 0) {
          this.stats.add('http2.malformedFrames');
          this.mode = Mode.Header;
          return;
        }
        this.mode = Mode.PadLength;
      } else {
        this.mode = Mode.Data;
        this.left = header.length;
        this.padding = 0;
      }
      return;
    }
    if (header.length > MAX_BUFFERED_FRAME) {
      this.stats.add('http2.framesTooLarge');
      this.mode = Mode.Skip;
      this.left = header.length;
      this.lostCurrentFrame(ts);
      return;
    }
    this.mode = Mode.Payload;
    if (header.length === 0) {
      this.mode = Mode.Header;
      this.handler.onFrame(header, Buffer.alloc(0), ts);
    }
  }

  private finishStreamedFrame(ts: number): void {
    if (this.mode === Mode.Data) {
      if (this.padding > 0) {
        this.mode = Mode.Skip;
        this.left = this.padding;
        this.padding = 0;
        return;
      }
      this.mode = Mode.Header;
      this.handler.onDataEnd(this.header.streamId, (this.header.flags & Flag.EndStream) !== 0, ts);
      return;
    }
    // Skip mode ends: padding after DATA, or a frame we skipped.
    this.mode = Mode.Header;
    if (this.header.type === FrameType.Data) {
      this.handler.onDataEnd(this.header.streamId, (this.header.flags & Flag.EndStream) !== 0, ts);
    }
  }

  private lostCurrentFrame(ts: number): void {
    const t = this.header.type;
    const headerBlock = t === FrameType.Headers || t === FrameType.Continuation || t === FrameType.PushPromise;
    this.handler.onLost(this.header.streamId, headerBlock, ts);
  }

  private resync(ts: number): void {
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const found = findFrameBoundary(buf, 0, RESYNC_CHAIN);
    if (found === null) {
      const keep = Math.min(buf.length, FRAME_HEADER_SIZE - 1);
      this.stats.add('http2.resyncBytesSkipped', buf.length - keep);
      this.setPending(buf.subarray(buf.length - keep));
      return;
    }
    if (found.at > 0) this.stats.add('http2.resyncBytesSkipped', found.at);
    buf = buf.subarray(found.at);
    if (!found.confirmed) {
      if (buf.length > MAX_RESYNC_BUFFER) {
        // A promising chain that never confirms: give up on its first byte.
        this.stats.add('http2.resyncBytesSkipped', 1);
        buf = buf.subarray(1);
      }
      this.setPending(buf);
      return;
    }
    this.dropPending();
    this.mode = Mode.Header;
    this.push(buf, ts);
  }

  /** Bytes held for an unfinished frame (or while resynchronising). */
  get buffered(): number {
    return this.pendingLength;
  }

  /** The memory budget wants the unfinished frame back: dropped, as to a gap, and counted. */
  shed(ts: number): void {
    if (this.pendingLength === 0) return;
    this.stats.add('http2.bytesShed.memoryBudget', this.pendingLength);
    this.gap(Number.MAX_SAFE_INTEGER, ts);
  }

  private stash(bytes: Buffer): void {
    if (!this.charge.grow(bytes.length + CHUNK_COST)) {
      this.stats.add('http2.bytesDropped.memoryBudget', this.pendingLength + bytes.length);
      this.gap(Number.MAX_SAFE_INTEGER, 0);
      return;
    }
    const copy = Buffer.allocUnsafe(bytes.length);
    bytes.copy(copy);
    this.pending.push(copy);
    this.pendingLength += copy.length;
  }

  private setPending(buf: Buffer): void {
    this.pending = buf.length === 0 ? [] : [buf];
    this.pendingLength = buf.length;
    this.settle();
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.settle();
  }

  private settle(): void {
    this.charge.settle(this.pendingLength + this.pending.length * CHUNK_COST);
  }
}
