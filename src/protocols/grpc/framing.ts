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
  private prefix = Buffer.alloc(5);
  private prefixHave = 0;
  private current: RawMessage | null = null;
  private currentChunks: Buffer[] = [];
  private left = 0;
  private keeping = false;
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
        const take = Math.min(5 - this.prefixHave, piece.length - pos);
        piece.copy(this.prefix, this.prefixHave, pos, pos + take);
        this.prefixHave += take;
        pos += take;
        if (this.prefixHave === 5) this.startMessage();
        continue;
      }
      const take = Math.min(this.left, piece.length - pos);
      if (this.keeping) {
        const copy = Buffer.allocUnsafe(take);
        piece.copy(copy, 0, pos, pos + take);
        this.currentChunks.push(copy);
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
    this.prefixHave = 0;
  }

  /** The stream ended: a message still open was cut short. */
  end(): void {
    if (this.current !== null || this.prefixHave > 0) {
      this.incomplete = true;
      if (this.current !== null) this.dropCurrent();
      this.prefixHave = 0;
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

  private startMessage(): void {
    this.prefixHave = 0;
    const size = this.prefix.readUInt32BE(1);
    const message: RawMessage = { compressed: this.prefix[0] === 1, size, bytes: null };
    this.count += 1;
    this.current = message;
    this.left = size;
    this.currentChunks = [];
    this.keeping = false;
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
      this.keeping = true;
      this.messages.push(message);
    }
    if (size === 0) this.finishMessage();
  }

  private finishMessage(): void {
    const message = this.current;
    if (message === null) return;
    if (this.keeping) {
      message.bytes = this.currentChunks.length === 1 ? this.currentChunks[0] : Buffer.concat(this.currentChunks, message.size);
    }
    this.current = null;
    this.currentChunks = [];
    this.keeping = false;
  }

  private dropCurrent(): void {
    this.current = null;
    this.currentChunks = [];
    this.keeping = false;
  }
}
