// Keeps a bounded prefix of one HTTP message body and counts the rest, then renders the body
// fields of the entry: exact sizes always, bytes kept only up to --max-body (or, for a
// content-encoded body, up to MAX_COMPRESSED_BYTES so it can be decoded), the content-coding
// undone, or the reason it was not. HTTP/1 feeds it from its framing (Content-Length, chunked,
// close-delimited), HTTP/2 from DATA frames. What it keeps is charged to the engine's memory
// budget (kept-bytes.ts); a body the budget refused or took back is flagged bodyShed.

import type { Stats } from '../stats.js';
import { renderBody } from './body.js';
import { decodableCodings, decodeBody, MAX_COMPRESSED_BYTES } from './content-decoding.js';
import { CHUNK_COST, type KeptBytes, type SheddableHolder } from './kept-bytes.js';

/**
 * Kept bytes are copied into chunks of at most this size, not one Buffer per segment. The
 * first chunk is as large as the first piece, each next one twice the last (up to this
 * size): most bodies come in one piece of a few dozen bytes, and a 16 KiB chunk for each
 * (allocated, charged and collected) was 3% of the HTTP/1 bench run in allocation alone and
 * external memory that made the collector run more often.
 */
const CHUNK_BYTES = 16 * 1024;

/** What an empty body renders from: shared, as nothing ever writes into it. */
const NO_BYTES = Buffer.alloc(0);

export class BodyCollector implements SheddableHolder {
  prev: SheddableHolder | null = null;
  next: SheddableHolder | null = null;
  private chunks: Buffer[] = [];
  /** The chunk being filled: chunks.at(-1), filled up to `fill`. */
  private fill = 0;
  private kept = 0;
  /** Bytes charged to the budget for the chunks (capacity plus CHUNK_COST each). */
  chargedBytes = 0;
  /** Bytes of the body on the wire, including any lost to a gap. */
  wireSize = 0;
  /** Some body bytes were never captured: the body's content is unknown. */
  lost = false;
  /** The memory budget refused bytes the limit allowed, or took back what was kept. */
  private overBudget = false;
  private shedBytes = 0;
  private readonly limit: number;
  private readonly contentEncoding: string | null;
  private readonly codings: string[] | null;

  /** `protocol` prefixes the Stats names (http1.bodiesLost, http2.bodyBytesDropped, ...). */
  constructor(
    private readonly maxBody: number,
    contentEncoding: string | null,
    private readonly stats: Stats,
    private readonly protocol: string,
    private readonly budget: KeptBytes | null = null,
  ) {
    const codings = contentEncoding === null ? null : decodableCodings(contentEncoding);
    // Identity alone is no coding at all.
    this.contentEncoding = codings !== null && codings.length === 0 ? null : contentEncoding;
    this.codings = this.contentEncoding === null ? null : codings;
    this.limit = this.codings !== null ? Math.max(MAX_COMPRESSED_BYTES, maxBody) : maxBody;
  }

  /** Copies what is kept: the caller's buffer is only valid during its onData call. */
  add(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    this.wireSize += n;
    if (this.kept >= this.limit || n === 0 || this.overBudget) {
      if (this.overBudget && this.kept < this.limit) this.dropped(Math.min(n, this.limit - this.kept));
      return;
    }
    let at = start;
    let take = Math.min(n, this.limit - this.kept);
    while (take > 0) {
      let chunk = this.chunks.at(-1);
      if (chunk === undefined || this.fill === chunk.length) {
        const size = Math.min(Math.max(take, (chunk?.length ?? 0) * 2), CHUNK_BYTES, this.limit - this.kept);
        if (this.budget !== null && !this.budget.take(this, size + CHUNK_COST)) {
          this.overBudget = true;
          this.dropped(take);
          return;
        }
        if (this.budget !== null) this.chargedBytes += size + CHUNK_COST;
        chunk = Buffer.allocUnsafeSlow(size);
        this.chunks.push(chunk);
        this.fill = 0;
      }
      const copy = Math.min(take, chunk.length - this.fill);
      buf.copy(chunk, this.fill, at, at + copy);
      this.fill += copy;
      this.kept += copy;
      at += copy;
      take -= copy;
    }
  }

  /** The budget wants its bytes back: the body is shown cut where it stood (empty). */
  shed(): void {
    this.shedBytes += this.kept;
    this.stats.add(`${this.protocol}.bodyBytesShed`, this.kept);
    this.stats.add(`${this.protocol}.bodiesShed`);
    this.release();
    this.overBudget = true;
  }

  private dropped(n: number): void {
    this.stats.add(`${this.protocol}.bodyBytesDropped.memoryBudget`, n);
  }

  /** A whole piece (an HTTP/2 DATA payload), valid only during the call. */
  push(piece: Buffer): void {
    this.add(piece, 0, piece.length);
  }

  markLost(missing: number): void {
    this.wireSize += missing;
    this.lost = true;
  }

  /** The body fields of a request or response; a body with lost bytes has null content. */
  render(announcedSize: number | null = null): Record<string, unknown> {
    if (this.lost) {
      this.stats.add(`${this.protocol}.bodiesLost`);
      return { body: null, bodySize: Math.max(announcedSize ?? 0, this.wireSize) };
    }
    const bytes = this.takeKept();
    if (this.shedBytes > 0 || (this.overBudget && this.contentEncoding === null)) return this.markShed(renderKept(bytes, this.wireSize, this.maxBody));
    if (this.contentEncoding === null || this.wireSize === 0) return renderKept(bytes, this.wireSize, this.maxBody);
    if (this.codings === null) return this.undecoded(bytes, `unsupported content-encoding ${this.contentEncoding}`);
    if (this.kept < this.wireSize) {
      this.stats.add(`${this.protocol}.bodiesNotDecoded.tooLarge`);
      return this.undecoded(bytes, this.overBudget
        ? 'compressed body not kept whole: over the memory budget'
        : `compressed body larger than ${MAX_COMPRESSED_BYTES} bytes`);
    }
    const decoded = decodeBody(bytes, this.codings);
    if (!decoded.ok) {
      this.stats.add(`${this.protocol}.bodyDecodeErrors`);
      return this.undecoded(bytes, decoded.error);
    }
    return { ...renderBody(decoded.bytes, this.maxBody), bodyWireSize: this.wireSize };
  }

  /**
   * The kept bytes as they were on the wire, not decoded: for a body whose bytes may have
   * been lost but whose framing does not say so (an HTTP/2 gap not tied to one stream).
   */
  renderAsSent(): Record<string, unknown> {
    const rendered = renderKept(this.takeKept(), this.wireSize, this.maxBody);
    if (this.contentEncoding !== null) rendered.bodyWireSize = this.wireSize;
    return this.overBudget ? this.markShed(rendered) : rendered;
  }

  /** The memory budget cut this body: the entry says so (sizes stay exact). */
  private markShed(rendered: Record<string, unknown>): Record<string, unknown> {
    rendered.bodyShed = true;
    if (this.contentEncoding !== null) rendered.bodyWireSize = this.wireSize;
    return rendered;
  }

  /** Gives the kept bytes back to the budget; call once when the entry is emitted. */
  release(): void {
    const charged = this.chargedBytes;
    this.chargedBytes = 0;
    if (charged > 0) this.budget?.give(this, charged);
    this.chunks = [];
    this.fill = 0;
    this.kept = 0;
  }

  /**
   * The kept bytes as one buffer; the chunks are let go (rendering happens once). No body and
   * a body in one full chunk (most are: the first chunk is sized to the first piece) take no
   * view and no copy. Buffer.concat of nothing and the views were 3.3% of the HTTP/1.1 bench
   * profile (most of its requests have no body); CPU 0.91 (5.99 -> 5.40 s, 10 pairs).
   */
  private takeKept(): Buffer {
    const chunks = this.chunks;
    this.chunks = [];
    if (chunks.length === 0) return NO_BYTES;
    const last = chunks.length - 1;
    if (this.fill < chunks[last].length) chunks[last] = chunks[last].subarray(0, this.fill);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.kept);
  }

  private undecoded(bytes: Buffer, reason: string): Record<string, unknown> {
    return { ...renderKept(bytes, this.wireSize, this.maxBody), bodyWireSize: this.wireSize, bodyDecodeError: reason };
  }
}

/** renderBody on the kept prefix, with the size of the whole body. */
function renderKept(kept: Buffer, totalSize: number, maxBody: number): Record<string, unknown> {
  const rendered: Record<string, unknown> = { ...renderBody(kept, maxBody) };
  rendered.bodySize = totalSize;
  if (totalSize > Math.min(kept.length, maxBody)) rendered.bodyTruncated = true;
  return rendered;
}
