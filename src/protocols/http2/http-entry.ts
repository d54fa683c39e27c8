// Turns a finished HTTP/2 stream into an `http` call: pseudo headers mapped to method, path
// (query split off), scheme and authority; response status, headers, trailers and the body
// (decoded from its content-encoding by the shared BodyCollector).

import type { Call } from '../../entry.js';
import { renderBody } from '../body.js';
import type { EngineOptions } from '../types.js';
import { BodyCollector } from '../body-collector.js';
import { errorCodeName } from './frames.js';
import { fieldValue, headerObject, type H2Stream, type HalfStream } from './stream.js';

export function buildHttpCall(stream: H2Stream, endMicros: number | null, options: EngineOptions): Call {
  const request = buildRequest(stream, options);
  const response = stream.response.fields === null ? null : buildResponse(stream.response, options);
  const call: Call = {
    protocol: 'http',
    startMicros: stream.startMicros,
    endMicros: response === null ? null : endMicros,
    request,
    response,
    summary: `${request.method || '?'} ${fieldValue(stream.request.fields, ':path') ?? pathWithQuery(stream) ?? '?'} -> ${summaryOutcome(stream, response)}`,
  };
  addOutcome(call, stream);
  return call;
}

/** The error/incomplete markers every HTTP/2 stream entry (http or grpc) shares. */
export function addOutcome(call: Call, stream: H2Stream): void {
  if (stream.resetCode !== undefined) {
    call.error = `RST_STREAM ${errorCodeName(stream.resetCode)} from ${stream.resetBy === 0 ? 'client' : 'server'}`;
  } else if (stream.error !== undefined) {
    call.error = stream.error;
  }
  const responseCut = call.response !== null && !stream.response.ended;
  if (stream.incomplete || stream.request.headersIncomplete || stream.response.headersIncomplete || responseCut) call.incomplete = true;
}

export function summaryOutcome(stream: H2Stream, response: Record<string, unknown> | null): string {
  if (stream.resetCode !== undefined && response === null) return `RST_STREAM ${errorCodeName(stream.resetCode)}`;
  if (response === null) return '(no response)';
  return String(response.status ?? '?');
}

function pathWithQuery(stream: H2Stream): string | undefined {
  return stream.upgradeRequest?.path;
}

function buildRequest(stream: H2Stream, options: EngineOptions): Record<string, unknown> & { method?: string } {
  const up = stream.upgradeRequest;
  if (up !== undefined) {
    // The upgraded request was an HTTP/1.1 message; keep what the HTTP/1 dissector parsed.
    const request: Record<string, unknown> & { method: string } = { ...up, method: up.method, httpVersion: up.httpVersion ?? '1.1' };
    if (request.query === undefined) request.query = {};
    return request;
  }
  const half = stream.request;
  const fullPath = fieldValue(half.fields, ':path') ?? '';
  const q = fullPath.indexOf('?');
  const method = fieldValue(half.fields, ':method');
  const request: Record<string, unknown> & { method?: string } = {
    path: q < 0 ? fullPath : fullPath.slice(0, q),
    query: q < 0 ? {} : parseQuery(fullPath.slice(q + 1)),
    httpVersion: '2',
  };
  // A header block without :method or :path (lost to a gap, or malformed) is shown as
  // incomplete rather than with a made-up method.
  if (method) request.method = method;
  if (!method || fullPath === '') half.headersIncomplete = true;
  const scheme = fieldValue(half.fields, ':scheme');
  if (scheme !== undefined) request.scheme = scheme;
  const authority = fieldValue(half.fields, ':authority');
  if (authority !== undefined) request.authority = authority;
  request.headers = headerObject(half.fields);
  Object.assign(request, renderPayload(half, options));
  if (half.trailers !== null) request.trailers = headerObject(half.trailers);
  if (half.headersIncomplete) request.headersIncomplete = true;
  markDropped(request, half);
  return request;
}

function buildResponse(half: HalfStream, options: EngineOptions): Record<string, unknown> {
  const response: Record<string, unknown> = { httpVersion: '2', headers: headerObject(half.fields) };
  const status = fieldValue(half.fields, ':status');
  if (status !== undefined && /^[1-9]\d\d$/.test(status)) response.status = Number(status);
  else half.headersIncomplete = true; // no usable :status: say so rather than invent one
  Object.assign(response, renderPayload(half, options));
  if (half.trailers !== null) response.trailers = headerObject(half.trailers);
  if (half.headersIncomplete) response.headersIncomplete = true;
  markDropped(response, half);
  return response;
}

function renderPayload(half: HalfStream, options: EngineOptions): Record<string, unknown> {
  const payload = half.payload;
  if (!(payload instanceof BodyCollector)) return { ...renderBody(Buffer.alloc(0), options.maxBody) };
  // A gap marks every open stream (it may not have hit this one): show what was kept, undecoded.
  return half.dataLost ? payload.renderAsSent() : payload.render();
}

/** Fields past the header list limit (hpack.ts): the entry says how many were not kept. */
export function markDropped(target: Record<string, unknown>, half: HalfStream): void {
  if (half.headersDropped === 0) return;
  target.headersTruncated = true;
  target.headersDropped = half.headersDropped;
}

/** Query parameters, percent-decoded; a repeated key becomes an array. */
export function parseQuery(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = out[key];
    if (previous === undefined) out[key] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[key] = [previous, value];
  }
  return out;
}
