// gRPC's length-prefixed message framing over an HTTP/2 stream's DATA (one byte compressed
// flag, four bytes big-endian length, then the message), read incrementally from DATA pieces.
// Every message is counted; of the first `maxMessages`, bytes are kept (copied) for decoding
// up to --max-body per direction, as for any body: a message that fits is kept whole, the one
// that crosses the limit keeps its first bytes (shown raw, flagged truncated; a compressed one
// is kept whole to be decoded, its output cut at rendering), later ones keep none; sizes
// stay exact.
// What is kept is charged to the memory budget (kept-bytes.ts), which may take it back.
// Hand-written: it is five bytes of header, and grpc-js's own decoder is internal to its
// client and server.

import type { Stats } from '../../stats.js';
import { CHUNK_COST, type KeptBytes, type SheddableHolder } from '../kept-bytes.js';

/** gRPC's default maximum message size; larger messages are counted, not kept. */
export const MAX_KEPT_MESSAGE = 4 * 1024 * 1024;

/** The bytes of every empty message: nothing is ever written into it. */
const EMPTY_MESSAGE = Buffer.alloc(0);

export interface RawMessage {
  compressed: boolean;
  /** Size on the wire (after compression, without the 5-byte prefix). */
  size: number;
  /** The message bytes (all, or the first ones when `cut`), or null when none were kept. */
  bytes: Buffer | null;
  /** Why bytes are missing: the --max-body limit, the message size limit, the memory budget. */
  notKept?: 'maxBody' | 'tooLarge' | 'memoryBudget';
}

export class GrpcMessageReader implements SheddableHolder {
  prev: SheddableHolder | null = null;
  next: SheddableHolder | null = null;
  readonly messages: RawMessage[] = [];
  /** Messages whose prefix was seen, kept or not. */
  count = 0;
  /** Bytes of the stream that could not be framed (a gap, or a message cut by the end). */
  incomplete = false;
  size = 0;
  /** The 5-byte prefix read so far, as numbers: a Buffer per reader costs the GC more. */
  private prefixHave = 0;
  private prefixFlag = 0;
  private prefixLength = 0;
  private current: RawMessage | null = null;
  /** Where the kept message's bytes are copied as they arrive; null when it is not kept. */
  private currentBytes: Buffer | null = null;
  private left = 0;
  /** Bytes of the current message still to copy into currentBytes (a prefix may be shorter). */
  private copyLeft = 0;
  /** Message bytes kept so far in this direction, against --max-body. */
  private kept = 0;
  chargedBytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBody: number,
    private readonly budget: KeptBytes | null,
    private readonly stats: Stats,
  ) {}

  push(piece: Buffer): void {
    this.size += piece.length;
    if (this.lostFraming) return;
    let pos = 0;
    while (pos < piece.length) {
      if (this.current === null) {
        this.prefixByte(piece[pos]);
        pos += 1;
        if (this.prefixHave === 5) this.startMessage();
        continue;
      }
      const take = Math.min(this.left, piece.length - pos);
      const copy = Math.min(take, this.copyLeft);
      if (this.currentBytes !== null && copy > 0) {
        piece.copy(this.currentBytes, this.currentBytes.length - this.copyLeft, pos, pos + copy);
        this.copyLeft -= copy;
      }
      pos += take;
      this.left -= take;
      if (this.left === 0) this.finishMessage();
    }
  }

  /** Bytes of this stream were lost: framing cannot be trusted for the rest of the stream. */
  lost(): void {
    this.incomplete = true;
    this.lostFraming = true;
    if (this.current !== null) this.dropCurrent();
    this.resetPrefix();
  }

  /** The stream ended: a message still open was cut short. */
  end(): void {
    if (this.current !== null || this.prefixHave > 0) {
      this.incomplete = true;
      if (this.current !== null) this.dropCurrent();
      this.resetPrefix();
    }
  }

  release(): void {
    const charged = this.chargedBytes;
    this.chargedBytes = 0;
    if (charged > 0) this.budget?.give(this, charged);
    this.messages.length = 0;
  }

  /** The memory budget takes the kept bytes back: every message keeps its size, not its bytes. */
  shed(): void {
    let freed = 0;
    for (const message of this.messages) {
      // An empty message holds nothing to give back: it stays decodable.
      if (message.bytes === null || message.bytes.length === 0) continue;
      freed += message.bytes.length;
      message.bytes = null;
      message.notKept = 'memoryBudget';
    }
    if (this.currentBytes !== null) {
      this.currentBytes = null;
      if (this.current !== null) this.current.notKept = 'memoryBudget';
    }
    this.stats.add('grpc.messageBytesShed', freed);
    this.shedAll = true;
    const charged = this.chargedBytes;
    this.chargedBytes = 0;
    if (charged > 0) this.budget?.give(this, charged);
  }

  private lostFraming = false;
  /** The budget took this reader's bytes back: keep no more. */
  private shedAll = false;

  private takeBudget(size: number): boolean {
    if (this.budget === null) return true;
    if (!this.budget.take(this, size + CHUNK_COST)) return false;
    this.chargedBytes += size + CHUNK_COST;
    return true;
  }

  /** One byte of the prefix: the compressed flag, then the big-endian length. */
  private prefixByte(byte: number): void {
    if (this.prefixHave === 0) this.prefixFlag = byte;
    else this.prefixLength = this.prefixLength * 256 + byte;
    this.prefixHave += 1;
  }

  private resetPrefix(): void {
    this.prefixHave = 0;
    this.prefixLength = 0;
  }

  private startMessage(): void {
    const size = this.prefixLength;
    const compressed = this.prefixFlag === 1;
    this.resetPrefix();
    const message: RawMessage = { compressed, size, bytes: null };
    this.count += 1;
    this.current = message;
    this.left = size;
    this.copyLeft = 0;
    this.currentBytes = null;
    if (this.messages.length >= this.maxMessages) {
      this.stats.add('grpc.messagesDropped');
      if (size === 0) this.finishMessage();
      return;
    }
    this.messages.push(message);
    // A compressed message is decoded whole or not at all (a prefix of it is of no use), so it
    // is kept whole while the allowance is not spent; what it decodes to is cut at rendering.
    const allowance = this.maxBody - this.kept;
    const keep = size <= allowance ? size : message.compressed ? (allowance > 0 ? size : 0) : Math.max(0, allowance);
    if (size > MAX_KEPT_MESSAGE && keep === size) {
      this.stats.add('grpc.messagesTooLarge');
      message.notKept = 'tooLarge';
    } else if (keep < size) {
      this.stats.add('grpc.messageBytesCut.maxBody', size - keep);
      message.notKept = 'maxBody';
    }
    if (keep > 0 && message.notKept !== 'tooLarge') {
      if (this.shedAll || !this.takeBudget(keep)) {
        this.stats.add('grpc.messagesOverBudget');
        message.notKept = 'memoryBudget';
      } else {
        this.kept += keep;
        // One buffer of the kept size (bounded by --max-body and the budget): no chunks to join.
        this.currentBytes = Buffer.allocUnsafeSlow(keep);
        this.copyLeft = keep;
      }
    }
    if (size === 0) {
      // An empty message (google.protobuf.Empty, say) is kept whole: it has no bytes to copy.
      this.currentBytes = EMPTY_MESSAGE;
      this.finishMessage();
    }
  }

  private finishMessage(): void {
    const message = this.current;
    if (message === null) return;
    message.bytes = this.currentBytes;
    this.current = null;
    this.currentBytes = null;
  }

  private dropCurrent(): void {
    this.current = null;
    this.currentBytes = null;
  }
}
