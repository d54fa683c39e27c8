// What became of a call, the same way for the run summary, the service map and the HTML-free
// exports: did it fail, and which status class does it fall in. One definition, so the
// error counts on the map's edges and in the summary always agree.

import type { Entry } from '../entry.js';
import { grpcStatusName } from '../protocols/grpc/call.js';

/** DNS answers that mean the server could not or would not answer (NXDOMAIN is an answer). */
const DNS_FAILURES = new Set(['SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP']);
const AMQP_CLOSES = new Set(['channel.close', 'connection.close']);
const AMQP_NEGATIVE = new Set(['basic.nack', 'basic.reject', 'basic.return']);

/**
 * A failed call: HTTP 5xx, gRPC non-OK, a Redis error reply, a Kafka error code, an AMQP
 * close with a code other than 200 or a nack/reject/return, a DNS server failure, a TLS
 * alert, and on every protocol a call that failed below it (reset, closed before the answer).
 */
export function isFailedCall(entry: Entry): boolean {
  if (entry.error !== undefined) return true;
  const req = entry.request;
  const res = entry.response;
  switch (entry.protocol) {
    case 'http':
      return typeof res?.status === 'number' && res.status >= 500;
    case 'grpc':
      return typeof res?.grpcStatus === 'number' && res.grpcStatus !== 0;
    case 'redis':
      return typeof res?.error === 'string';
    case 'kafka':
      return res !== null && kafkaErrors(res);
    case 'amqp':
      return amqpFailure(req) || (res !== null && amqpFailure(res));
    case 'dns':
      return typeof res?.rcode === 'string' && DNS_FAILURES.has(res.rcode);
    case 'tls':
      return res?.alert !== undefined && res.alert !== null;
  }
}

function kafkaErrors(res: Record<string, unknown>): boolean {
  if (typeof res.errorCode === 'number' && res.errorCode !== 0) return true;
  for (const list of [res.partitions, res.topics]) {
    if (!Array.isArray(list)) continue;
    for (const item of list) if (typeof item?.errorCode === 'number' && item.errorCode !== 0) return true;
  }
  return false;
}

function amqpFailure(part: Record<string, unknown>): boolean {
  const method = part.method;
  if (typeof method !== 'string') return false;
  if (AMQP_NEGATIVE.has(method)) return true;
  return AMQP_CLOSES.has(method) && typeof part.replyCode === 'number' && part.replyCode !== 200;
}

/**
 * The status class of a call for the run summary: `http 2xx`, `grpc NOT_FOUND`,
 * `redis error`, `dns NXDOMAIN`; `no response` when none was seen.
 */
export function statusClass(entry: Entry): string {
  const res = entry.response;
  const p = entry.protocol;
  if (res === null) return `${p} ${entry.error !== undefined ? 'failed' : 'no response'}`;
  if (p === 'grpc' && typeof res.grpcStatus === 'number') return `grpc ${grpcStatusName(res.grpcStatus)}`;
  if ((p === 'http' || p === 'grpc') && typeof res.status === 'number') return `${p} ${Math.floor(res.status / 100)}xx`;
  if (p === 'dns' && typeof res.rcode === 'string') return `dns ${res.rcode}`;
  return `${p} ${isFailedCall(entry) ? 'error' : 'ok'}`;
}
