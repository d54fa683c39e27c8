// Turns a request and its response (HttpMessages) into the entry's Call: the request and
// response objects documented in docs/protocols/http.md, and the one-line summary.

import type { Call } from '../../entry.js';
import type { HttpMessage } from './message-parser.js';
import { parseQuery, splitTarget } from './target.js';

export interface Exchange {
  request: HttpMessage;
  requestDone: boolean;
  /** The final (non-1xx, or 101) response, once its head was seen. */
  response: HttpMessage | null;
  responseDone: boolean;
  /** Protocol the connection switched to (101), or 'tunnel' for a CONNECT that succeeded. */
  upgrade: string | null;
  /** Bytes charged to the memory budget while it waits. */
  cost: number;
  /** Why it was emitted before its response came (see Http1Parser.shedOldest). */
  shed?: string;
}

export function requestFields(msg: HttpMessage): Record<string, unknown> {
  const head = msg.head;
  const { path, rawQuery } = splitTarget(head.target);
  const fields: Record<string, unknown> = {
    method: head.method,
    path,
    query: parseQuery(rawQuery),
    httpVersion: head.httpVersion,
    headers: head.headers,
    ...msg.body.render(head.contentLength),
  };
  if (msg.trailers !== null) fields.trailers = msg.trailers;
  return fields;
}

export function responseFields(msg: HttpMessage, upgrade: string | null): Record<string, unknown> {
  const head = msg.head;
  const fields: Record<string, unknown> = {
    status: head.status,
    statusText: head.statusText,
    httpVersion: head.httpVersion,
    headers: head.headers,
    ...msg.body.render(head.contentLength),
  };
  if (msg.trailers !== null) fields.trailers = msg.trailers;
  if (upgrade !== null) fields.upgrade = upgrade;
  return fields;
}

export function exchangeToCall(ex: Exchange): Call {
  const req = ex.request;
  const res = ex.responseDone ? ex.response : null;
  const call: Call = {
    protocol: 'http',
    startMicros: req.startMicros,
    endMicros: res === null ? null : res.endMicros,
    request: requestFields(req),
    response: res === null ? null : responseFields(res, ex.upgrade),
    summary: `${req.head.method} ${req.head.target} -> ${res === null ? '(no response)' : res.head.status}`,
  };
  if (req.incomplete || (res !== null && res.incomplete)) call.incomplete = true;
  if (ex.shed !== undefined && res === null) call.error = `given up waiting for the response: ${ex.shed}`;
  return call;
}
