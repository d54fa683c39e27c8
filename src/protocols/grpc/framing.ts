// gRPC's length-prefixed message framing over an HTTP/2 stream's DATA (one byte compressed
// flag, four bytes big-endian length, then the message), read incrementally from DATA pieces.
// Every message is counted; the first `maxMessages` are kept whole (copied) for decoding, the
// rest only counted, so a long stream costs bounded memory. Hand-written: it is five bytes of
// header, and grpc-js's own decoder is internal to its client and server.

import type { Stats } from '../../stats.js';
import type { ByteBudget } from '../http2/budget.js';

/** gRPC's default maximum message size; larger messages are counted, not kept. */
export const MAX_KEPT_MESSAGE = 4 * 1024 * 1024;

export interface RawMessage {
  compressed: boolean;
  /** Size on the wire (after compression, without the 5-byte prefix). */
  size: number;
  /** The message bytes, or null when they were not kept (too large, budget spent). */
  bytes: Buffer | null;
}

export class GrpcMessageReader {
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
  private kept = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly budget: ByteBudget,
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
      if (this.currentBytes !== null) piece.copy(this.currentBytes, this.currentBytes.length - this.left, pos, pos + take);
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
    this.budget.give(this.kept);
    this.kept = 0;
    this.messages.length = 0;
  }

  private lostFraming = false;

  private takeBudget(size: number): boolean {
    const granted = this.budget.take(size);
    if (granted === size) return true;
    this.budget.give(granted);
    return false;
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
    this.currentBytes = null;
    if (this.messages.length >= this.maxMessages) {
      this.stats.add('grpc.messagesDropped');
    } else if (size > MAX_KEPT_MESSAGE) {
      this.stats.add('grpc.messagesTooLarge');
      this.messages.push(message);
    } else if (!this.takeBudget(size)) {
      this.stats.add('grpc.messagesOverBudget');
      this.messages.push(message);
    } else {
      this.kept += size;
      // One buffer of the announced size (bounded above and by the budget): no chunks to join.
      this.currentBytes = Buffer.allocUnsafe(size);
      this.messages.push(message);
    }
    if (size === 0) this.finishMessage();
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
