// Keeps a bounded prefix of one HTTP message body and counts the rest, then renders the body
// fields of the entry: exact sizes always, bytes kept only up to --max-body (or, for a
// content-encoded body, up to MAX_COMPRESSED_BYTES so it can be decoded), the content-coding
// undone, or the reason it was not. HTTP/1 feeds it from its framing (Content-Length, chunked,
// close-delimited), HTTP/2 from DATA frames within its connection's byte budget.

import type { Stats } from '../stats.js';
import { renderBody } from './body.js';
import { decodableCodings, decodeBody, MAX_COMPRESSED_BYTES } from './content-decoding.js';

/** Where kept bytes are borrowed from (HTTP/2 bounds them per connection); may grant less. */
export interface KeepBudget {
  take(want: number): number;
  give(bytes: number): void;
}

export class BodyCollector {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes of the body on the wire, including any lost to a gap. */
  wireSize = 0;
  /** Some body bytes were never captured: the body's content is unknown. */
  lost = false;
  /** The budget refused bytes the limit allowed. */
  private overBudget = false;
  private readonly limit: number;
  private readonly contentEncoding: string | null;
  private readonly codings: string[] | null;

  /** `protocol` prefixes the Stats names (http1.bodiesLost, http2.bodyBytesDropped, ...). */
  constructor(
    private readonly maxBody: number,
    contentEncoding: string | null,
    private readonly stats: Stats,
    private readonly protocol: string,
    private readonly budget: KeepBudget | null = null,
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
    if (this.kept >= this.limit || n === 0) return;
    let take = Math.min(n, this.limit - this.kept);
    if (this.budget !== null) {
      const granted = this.budget.take(take);
      if (granted < take) {
        this.stats.add(`${this.protocol}.bodyBytesDropped`, take - granted);
        this.overBudget = true;
        take = granted;
      }
      if (take === 0) return;
    }
    this.chunks.push(Buffer.from(buf.subarray(start, start + take)));
    this.kept += take;
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
    if (this.contentEncoding === null || this.wireSize === 0) return renderKept(bytes, this.wireSize, this.maxBody);
    if (this.codings === null) return this.undecoded(bytes, `unsupported content-encoding ${this.contentEncoding}`);
    if (this.kept < this.wireSize) {
      this.stats.add(`${this.protocol}.bodiesNotDecoded.tooLarge`);
      return this.undecoded(bytes, this.overBudget
        ? 'compressed body not kept whole: over the connection\'s byte budget'
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
    return rendered;
  }

  /** Gives the kept bytes back to the budget; call once when the entry is emitted. */
  release(): void {
    this.budget?.give(this.kept);
    this.chunks = [];
    this.kept = 0;
  }

  /** The kept bytes as one buffer; the chunks are let go (rendering happens once). */
  private takeKept(): Buffer {
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.kept);
    this.chunks = [];
    return bytes;
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
