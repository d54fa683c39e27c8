// Splits one direction of an AMQP 0-9-1 connection into frames: the 8-byte protocol header
// ("AMQP" 0 0 9 1) a client opens with, then frames of type(1) channel(2) size(4) payload
// frame-end(0xCE). Keeps at most one unfinished frame; after lost bytes it skips to the next
// plausible frame header (known type, sane size, frame-end byte where the size says).

import type { MemoryAccount } from '../../memory/budget.js';
import { CHUNK_COST, HeldCharge } from '../kept-bytes.js';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
const FRAME_END = 0xce;

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

/** Largest frame accepted (RabbitMQ's default frame_max is 128 KiB); larger is garbage. */
export const MAX_FRAME = 16 * 1024 * 1024;

export interface Frame {
  type: number;
  channel: number;
  /** A view into the reader's buffer: valid only during the onFrame call. */
  payload: Buffer;
}

export interface FrameSink {
  onProtocolHeader(header: Buffer): void;
  onFrame(frame: Frame): void;
  /** The bytes are not AMQP frames: counted, and the reader skips to a plausible frame. */
  onMalformed(reason: string): void;
}

export class FrameReader {
  /** Bytes of an unfinished frame, kept as pieces until `needed` of them are here. */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private needed = 0;
  private atStart = true;
  resync: boolean;
  /** The memory budget's charge for the pieces (their bytes, and CHUNK_COST each). */
  private readonly charge: HeldCharge;

  /**
   * @param account where unfinished frames are charged ('app.buffers'); a piece the budget
   *   refuses drops the frame, as lost bytes would, and `refused` is told.
   */
  constructor(
    private readonly sink: FrameSink,
    midstream: boolean,
    account: MemoryAccount | null = null,
    private readonly refused: () => void = () => {},
  ) {
    this.resync = midstream;
    if (midstream) this.atStart = false;
    this.charge = new HeldCharge(account);
  }

  /** Bytes held for an unfinished frame. */
  get buffered(): number {
    return this.pieceBytes;
  }

  /** Bytes were lost: drop the unfinished frame and look for the next header. */
  lose(): void {
    this.pieces = [];
    this.pieceBytes = 0;
    this.charge.settle(0);
    this.needed = 0;
    this.resync = true;
    this.atStart = false;
  }

  push(data: Buffer): void {
    let buf = data;
    let owned = false;
    if (this.pieceBytes > 0) {
      // Joining pieces only once the frame can be complete keeps large frames that arrive
      // in many small segments linear in time.
      if (!this.charge.grow(data.length + CHUNK_COST)) {
        this.refused();
        return this.lose();
      }
      this.pieces.push(Buffer.from(data));
      this.pieceBytes += data.length;
      if (this.pieceBytes < this.needed) return;
      buf = Buffer.concat(this.pieces, this.pieceBytes);
      owned = true;
      this.pieces = [];
      this.pieceBytes = 0;
      this.charge.settle(0);
    }
    let pos = 0;
    let want = 0;
    if (this.atStart && buf.length > 0) {
      if (buf[0] === 0x41) {
        // "AMQP...": the client's protocol header (or a server's refusal naming its version).
        if (buf.length < 8) {
          this.keep(buf, 0, owned, 8);
          return;
        }
        this.sink.onProtocolHeader(buf.subarray(0, 8));
        pos = 8;
      }
      this.atStart = false;
    }
    while (pos < buf.length) {
      if (this.resync) {
        const at = findFrame(buf, pos);
        if (at === -1) {
          pos = Math.max(pos, buf.length - 7); // a header may straddle two chunks
          want = buf.length - pos + 1;
          break;
        }
        if (at < -1) {
          pos = -2 - at; // a candidate whose frame-end is not here yet: wait for it
          want = 8 + buf.readUInt32BE(pos + 3);
          break;
        }
        this.resync = false;
        pos = at;
      }
      if (buf.length - pos < 7) {
        want = 8;
        break;
      }
      const type = buf[pos];
      const size = buf.readUInt32BE(pos + 3);
      if (!isFrameType(type) || size > MAX_FRAME) {
        this.sink.onMalformed(!isFrameType(type) ? `frame type ${type}` : `frame of ${size} bytes`);
        this.resync = true;
        pos += 1;
        continue;
      }
      const end = pos + 7 + size;
      if (end >= buf.length) {
        want = 8 + size;
        break;
      }
      if (buf[end] !== FRAME_END) {
        this.sink.onMalformed('frame-end byte missing');
        this.resync = true;
        pos += 1;
        continue;
      }
      this.sink.onFrame({ type, channel: buf.readUInt16BE(pos + 1), payload: buf.subarray(pos + 7, end) });
      pos = end + 1;
    }
    if (pos < buf.length) this.keep(buf, pos, owned, want);
  }

  private keep(buf: Buffer, pos: number, owned: boolean, needed: number): void {
    const tail = buf.subarray(pos);
    if (!this.charge.grow(tail.length + CHUNK_COST)) {
      this.refused();
      return this.lose();
    }
    this.pieces = [owned ? tail : Buffer.from(tail)];
    this.pieceBytes = tail.length;
    this.needed = needed;
  }
}
function isFrameType(t: number): boolean {
  return t === FRAME_METHOD || t === FRAME_HEADER || t === FRAME_BODY || t === FRAME_HEARTBEAT;
}

/**
 * The next offset that looks like a frame header whose frame-end byte is where its size says
 * (only frames up to 128 KiB are candidates), followed by the start of another frame when
 * more bytes are here. -1: none; -2 - i: a candidate at i whose end is
 * not buffered yet.
 */
function findFrame(buf: Buffer, from: number): number {
  for (let i = from; i + 7 <= buf.length; i++) {
    if (!isFrameType(buf[i])) continue;
    const size = buf.readUInt32BE(i + 3);
    if (size > 128 * 1024) continue;
    if (buf[i] === FRAME_HEARTBEAT && size !== 0) continue;
    const end = i + 7 + size;
    if (end >= buf.length) return -2 - i;
    if (buf[end] === FRAME_END && nextFrameFits(buf, end + 1)) return i;
  }
  return -1;
}

/**
 * Where bytes follow a candidate frame, they must start a frame too (a known type and, when
 * its header is here, a size a frame can have): one frame-end byte in the right place is a
 * 1-in-256 chance in binary data, two frames in a row are not.
 */
function nextFrameFits(buf: Buffer, at: number): boolean {
  if (at >= buf.length) return true;
  if (!isFrameType(buf[at])) return false;
  return at + 7 > buf.length || buf.readUInt32BE(at + 3) <= MAX_FRAME;
}
