// -o har: the HTTP calls of a session (HTTP/1.x and HTTP/2; gRPC as the HTTP/2 POST it is)
// as one HAR 1.2 document that browsers' developer tools and HAR viewers open. Entries are
// redacted before they get here, so the HAR is too. Only the total time of a call is known
// (first request byte to last response byte): it is the HAR's `wait`, send and receive 0.

import type { Entry } from '../entry.js';

/** A HAR holds every call until the end; past this many, calls are counted in log.comment. */
const MAX_ENTRIES = 50000;

type NameValue = { name: string; value: string };

export class HarDocument {
  private readonly entries: object[] = [];
  private skipped = 0;
  private dropped = 0;

  constructor(private readonly creator: { name: string; version: string }) {}

  add(entry: Entry): void {
    if (entry.protocol !== 'http' && entry.protocol !== 'grpc') return void (this.skipped += 1);
    if (this.entries.length >= MAX_ENTRIES) return void (this.dropped += 1);
    this.entries.push(harEntry(entry));
  }

  render(): string {
    const notes = [
      this.skipped > 0 ? `${this.skipped} calls of other protocols are not in a HAR` : '',
      this.dropped > 0 ? `${this.dropped} HTTP calls after the first ${MAX_ENTRIES} were left out` : '',
    ].filter(Boolean);
    const log: Record<string, unknown> = { version: '1.2', creator: this.creator, pages: [], entries: this.entries };
    if (notes.length > 0) log.comment = notes.join('; ');
    return JSON.stringify({ log }, null, 2) + '\n';
  }
}

function harEntry(e: Entry): object {
  const req = e.request;
  const res = e.response;
  const grpc = e.protocol === 'grpc';
  const version = grpc || req.httpVersion === '2' ? 'HTTP/2.0' : `HTTP/${String(req.httpVersion ?? '1.1')}`;
  const time = e.elapsedMs ?? 0;
  const har: Record<string, unknown> = {
    startedDateTime: e.timestamp,
    time,
    request: {
      method: grpc ? 'POST' : String(req.method),
      url: urlOf(e),
      httpVersion: version,
      cookies: [],
      headers: headerList(req.headers),
      queryString: queryList(req.query),
      headersSize: -1,
      bodySize: typeof req.bodySize === 'number' ? req.bodySize : grpc ? messageBytes(req.messages) : -1,
      ...postData(e),
    },
    response: res === null ? noResponse(version) : {
      status: typeof res.status === 'number' ? res.status : 0,
      statusText: String(res.statusText ?? ''),
      httpVersion: res.httpVersion === '2' || grpc ? 'HTTP/2.0' : `HTTP/${String(res.httpVersion ?? '1.1')}`,
      cookies: [],
      headers: [...headerList(res.headers), ...headerList(res.trailers)],
      content: content(e, res),
      redirectURL: typeof (res.headers as Record<string, string> | undefined)?.location === 'string' ? (res.headers as Record<string, string>).location : '',
      headersSize: -1,
      bodySize: typeof res.bodyWireSize === 'number' ? res.bodyWireSize : typeof res.bodySize === 'number' ? res.bodySize : grpc ? messageBytes(res.messages) : -1,
    },
    cache: {},
    timings: { send: 0, wait: time, receive: 0 },
    serverIPAddress: e.dst.ip,
    connection: String(e.src.port),
  };
  const comment = [e.summary, e.error, e.incomplete ? 'incomplete: part of the call was lost to a capture gap' : ''].filter(Boolean).join('; ');
  if (comment) har.comment = comment;
  return har;
}

function urlOf(e: Entry): string {
  const req = e.request;
  const headers = (req.headers ?? {}) as Record<string, string>;
  const host = String(req.authority ?? headers.host ?? (e.dst.ip.includes(':') ? `[${e.dst.ip}]:${e.dst.port}` : `${e.dst.ip}:${e.dst.port}`));
  const scheme = String(req.scheme ?? 'http');
  const query = queryList(req.query).map(({ name, value }) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return `${scheme}://${host}${String(req.path ?? '/')}${query ? `?${query}` : ''}`;
}

function headerList(headers: unknown): NameValue[] {
  if (!headers || typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>).map(([name, value]) => ({ name, value: String(value) }));
}

function queryList(query: unknown): NameValue[] {
  if (!query || typeof query !== 'object') return [];
  return Object.entries(query as Record<string, unknown>).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ name, value: String(v) })),
  );
}

function contentType(headers: unknown): string {
  return String((headers as Record<string, unknown> | undefined)?.['content-type'] ?? '');
}

function messageBytes(messages: unknown): number {
  return Array.isArray(messages) ? messages.reduce((n, m) => n + (typeof m?.size === 'number' ? m.size : 0), 0) : -1;
}

/** gRPC messages are shown decoded, as JSON text. */
function bodyText(part: Record<string, unknown>, grpc: boolean): { text: string; encoding?: string } | null {
  if (grpc) return Array.isArray(part.messages) ? { text: JSON.stringify(part.messages.map((m: { value?: unknown }) => m.value ?? null)) } : null;
  if (typeof part.body !== 'string') return null;
  return part.bodyEncoding === 'base64' ? { text: part.body, encoding: 'base64' } : { text: part.body };
}

function postData(e: Entry): object {
  const body = bodyText(e.request, e.protocol === 'grpc');
  if (!body || body.text === '') return {};
  // HAR 1.2's postData has no encoding field: binary bodies say so in a comment.
  return { postData: { mimeType: contentType(e.request.headers), text: body.text, ...(body.encoding ? { comment: 'base64' } : {}) } };
}

function content(e: Entry, res: Record<string, unknown>): object {
  const body = bodyText(res, e.protocol === 'grpc');
  const size = typeof res.bodySize === 'number' ? res.bodySize : e.protocol === 'grpc' ? Math.max(0, messageBytes(res.messages)) : 0;
  const c: Record<string, unknown> = { size, mimeType: contentType(res.headers) };
  if (body) Object.assign(c, body);
  if (typeof res.bodyWireSize === 'number') c.compression = size - res.bodyWireSize;
  if (res.bodyTruncated) c.comment = `truncated at --max-body; ${size} bytes in all`;
  return c;
}

function noResponse(httpVersion: string): object {
  return { status: 0, statusText: '', httpVersion, cookies: [], headers: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: -1 };
}
