// Turns a finished HTTP/2 stream whose content-type is application/grpc* into a `grpc` call:
// path, service and method, metadata, every message (decoded, up to --max-messages kept and
// all counted), HTTP status, grpc-status and grpc-message from the trailers or from a
// trailers-only response.

import type { Call } from '../../entry.js';
import type { Stats } from '../../stats.js';
import type { EngineOptions } from '../types.js';
import { addOutcome, markDropped, summaryOutcome } from '../http2/http-entry.js';
import { fieldValue, headerObject, type H2Stream, type HalfStream } from '../http2/stream.js';
import { GrpcMessageReader } from './framing.js';
import { renderMessages } from './messages.js';
import { loadProtos, type MethodTypes } from './protos.js';

const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

export function grpcStatusName(code: number): string {
  return STATUS_NAMES[code] ?? String(code);
}

export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith('application/grpc') && !contentType.startsWith('application/grpc-web');
}

export function buildGrpcCall(stream: H2Stream, endMicros: number | null, options: EngineOptions, stats: Stats): Call {
  const path = fieldValue(stream.request.fields, ':path') ?? '';
  const types = methodTypes(path, options, stats);
  const slash = path.lastIndexOf('/');
  const request: Record<string, unknown> = {
    path,
    service: slash > 0 ? path.slice(1, slash) : '',
    method: slash >= 0 ? path.slice(slash + 1) : '',
  };
  const authority = fieldValue(stream.request.fields, ':authority');
  if (authority !== undefined) request.authority = authority;
  request.headers = headerObject(stream.request.fields);
  Object.assign(request, messagesOf(stream.request, types?.request, options));
  if (stream.request.headersIncomplete) request.headersIncomplete = true;
  markDropped(request, stream.request);

  let response: Record<string, unknown> | null = null;
  if (stream.response.fields !== null) {
    const half = stream.response;
    // Trailers-only: one HEADERS frame with END_STREAM that carries grpc-status.
    const trailersOnly = half.trailers === null && fieldValue(half.fields, 'grpc-status') !== undefined;
    const trailerFields = trailersOnly ? half.fields : half.trailers;
    const status = fieldValue(trailerFields, 'grpc-status');
    const message = fieldValue(trailerFields, 'grpc-message');
    response = {
      status: Number(fieldValue(half.fields, ':status') ?? 0),
      headers: trailersOnly ? {} : headerObject(half.fields),
      trailers: headerObject(trailerFields),
      grpcStatus: status === undefined || !/^\d+$/.test(status) ? null : Number(status),
    };
    if (message !== undefined) response.grpcMessage = decodeGrpcMessage(message);
    if (trailersOnly) response.trailersOnly = true;
    Object.assign(response, messagesOf(half, types?.response, options));
    if (half.headersIncomplete) response.headersIncomplete = true;
    markDropped(response, half);
  }
  const call: Call = {
    protocol: 'grpc',
    startMicros: stream.startMicros,
    endMicros: response === null ? null : endMicros,
    request,
    response,
    summary: `${path || '?'} -> ${grpcOutcome(stream, response)}`,
  };
  addOutcome(call, stream);
  return call;
}

function grpcOutcome(stream: H2Stream, response: Record<string, unknown> | null): string {
  if (response === null || response.grpcStatus === null) return summaryOutcome(stream, response);
  const status = response.grpcStatus as number;
  const name = grpcStatusName(status);
  return status === 0 || response.grpcMessage === undefined ? name : `${name}: ${String(response.grpcMessage)}`;
}

function messagesOf(half: HalfStream, type: MethodTypes['request'] | undefined, options: EngineOptions): Record<string, unknown> {
  const reader = half.payload;
  if (!(reader instanceof GrpcMessageReader)) return { messages: [], messageCount: 0 };
  const out: Record<string, unknown> = {
    messages: renderMessages(reader.messages, fieldValue(half.fields, 'grpc-encoding'), type, options.maxBody),
    messageCount: reader.count,
  };
  if (reader.count > reader.messages.length) out.messagesTruncated = true;
  if (reader.incomplete || half.dataLost) out.messagesIncomplete = true;
  return out;
}

function methodTypes(path: string, options: EngineOptions, stats: Stats): MethodTypes | undefined {
  if (options.protoPaths.length === 0) return undefined;
  try {
    const types = loadProtos(options.protoPaths).get(path);
    if (types === undefined) stats.add('grpc.methodNotInProtos');
    return types;
  } catch {
    // The command validates --proto up front; here we only fall back to field numbers.
    stats.add('grpc.protoLoadErrors');
    return undefined;
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec); undecodable input is kept as is. */
function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
