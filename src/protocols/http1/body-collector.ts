// Keeps a bounded prefix of one message body and counts the rest, then renders the body
// fields of the entry: exact sizes always, bytes kept only up to --max-body (or, for a
// content-encoded body, up to MAX_COMPRESSED_BYTES so it can be decoded).

import type { Stats } from '../../stats.js';
import { renderBody } from '../body.js';
import { decodableCodings, decodeBody, MAX_COMPRESSED_BYTES } from './content-decoding.js';

export class BodyCollector {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes of the body on the wire, including any lost to a gap. */
  wireSize = 0;
  /** Some body bytes were never captured: the body's content is unknown. */
  lost = false;
  private readonly limit: number;
  private readonly codings: string[] | null;

  constructor(
    private readonly maxBody: number,
    private readonly contentEncoding: string | null,
  ) {
    this.codings = contentEncoding === null ? null : decodableCodings(contentEncoding);
    this.limit = this.codings ? Math.max(MAX_COMPRESSED_BYTES, maxBody) : maxBody;
  }

  /** Copies what is kept: the caller's buffer is only valid during its onData call. */
  add(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    this.wireSize += n;
    if (this.kept >= this.limit || n === 0) return;
    const take = Math.min(n, this.limit - this.kept);
    this.chunks.push(Buffer.from(buf.subarray(start, start + take)));
    this.kept += take;
  }

  markLost(missing: number): void {
    this.wireSize += missing;
    this.lost = true;
  }

  /** The body fields of a request or response. */
  render(stats: Stats, announcedSize: number | null): Record<string, unknown> {
    if (this.lost) {
      stats.add('http1.bodiesLost');
      return { body: null, bodySize: Math.max(announcedSize ?? 0, this.wireSize) };
    }
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.kept);
    this.chunks = [];
    if (this.contentEncoding === null || this.wireSize === 0) return renderKept(bytes, this.wireSize, this.maxBody);
    if (this.codings === null) {
      return { ...renderKept(bytes, this.wireSize, this.maxBody), bodyWireSize: this.wireSize, bodyDecodeError: `unsupported content-encoding ${this.contentEncoding}` };
    }
    if (this.kept < this.wireSize) {
      stats.add('http1.bodiesNotDecoded.tooLarge');
      return { ...renderKept(bytes, this.wireSize, this.maxBody), bodyWireSize: this.wireSize, bodyDecodeError: `compressed body larger than ${MAX_COMPRESSED_BYTES} bytes` };
    }
    const decoded = decodeBody(bytes, this.codings);
    if (!decoded.ok) {
      stats.add('http1.bodyDecodeErrors');
      return { ...renderKept(bytes, this.wireSize, this.maxBody), bodyWireSize: this.wireSize, bodyDecodeError: decoded.error };
    }
    return { ...renderBody(decoded.bytes, this.maxBody), bodyWireSize: this.wireSize };
  }
}

/** renderBody on the kept prefix, with the size of the whole body. */
function renderKept(kept: Buffer, totalSize: number, maxBody: number): Record<string, unknown> {
  const rendered: Record<string, unknown> = { ...renderBody(kept, maxBody) };
  rendered.bodySize = totalSize;
  if (totalSize > Math.min(kept.length, maxBody)) rendered.bodyTruncated = true;
  return rendered;
}
