// Collects one HTTP/2 message body from DATA pieces: counts every byte, keeps at most
// `limit` of them (copied, as DATA pieces are only valid during the call) within the
// connection's budget, and tells what it could not keep.

import type { Stats } from '../../stats.js';
import type { ByteBudget } from './budget.js';

export class BodyCollector {
  private chunks: Buffer[] = [];
  kept = 0;
  size = 0;
  /** Bytes beyond the limit or the budget were not kept. */
  cut = false;

  constructor(
    private readonly limit: number,
    private readonly budget: ByteBudget,
    private readonly stats: Stats,
  ) {}

  push(piece: Buffer): void {
    this.size += piece.length;
    if (this.kept >= this.limit) {
      this.cut = true;
      return;
    }
    const want = Math.min(piece.length, this.limit - this.kept);
    const granted = this.budget.take(want);
    if (granted < want) {
      this.stats.add('http2.bodyBytesDropped', want - granted);
      this.cut = true;
    } else if (want < piece.length) {
      this.cut = true;
    }
    if (granted === 0) return;
    const copy = Buffer.allocUnsafe(granted);
    piece.copy(copy, 0, 0, granted);
    this.chunks.push(copy);
    this.kept += granted;
  }

  bytes(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  /** Gives the kept bytes back to the budget; call once when the entry is emitted. */
  release(): void {
    this.budget.give(this.kept);
    this.chunks = [];
    this.kept = 0;
  }
}
