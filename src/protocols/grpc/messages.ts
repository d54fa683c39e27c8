// Turns the raw gRPC messages of one direction into entry items: decompressed when their
// flag says so (grpc-encoding gzip, deflate, with the shared content decoder), decoded by name
// when the call's method is known from --proto, else (or when the bytes do not fit the
// schema) as a field-number tree.

import type protobuf from 'protobufjs';
import { renderBody } from '../body.js';
import { decodableCodings, decodeBody } from '../content-decoding.js';
import type { RawMessage } from './framing.js';
import { MAX_KEPT_MESSAGE } from './framing.js';
import { decodeSchemaless } from './schemaless.js';

export interface MessageItem {
  /** Bytes on the wire, without the 5-byte prefix. */
  size: number;
  compressed?: true;
  /** Fully-qualified message type, when decoded with the schema. */
  type?: string;
  /** The decoded message: by field name with a schema, else a field-number tree. */
  value?: unknown;
  /** Why the schema did not fit (the value is then a field-number tree). */
  schemaError?: string;
  /** Not decodable (not protobuf, not kept, or decompression failed): raw bytes as renderBody shows them. */
  body?: string | null;
  bodyEncoding?: 'base64';
  bodyTruncated?: true;
  bodySize?: number;
  decodeError?: string;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

export function renderMessages(
  raw: readonly RawMessage[],
  encoding: string | undefined,
  type: protobuf.Type | undefined,
  maxBody: number,
): MessageItem[] {
  // --max-body bounds what the messages of one direction show together, as for a body.
  const budget = { left: maxBody };
  return raw.map((message) => renderMessage(message, encoding, type, budget));
}

const NOT_KEPT: Record<NonNullable<RawMessage['notKept']>, string> = {
  maxBody: 'message larger than --max-body',
  tooLarge: `message larger than ${MAX_KEPT_MESSAGE} bytes`,
  memoryBudget: 'message not kept: over the memory budget',
};

function renderMessage(message: RawMessage, encoding: string | undefined, type: protobuf.Type | undefined, budget: { left: number }): MessageItem {
  const item: MessageItem = { size: message.size };
  if (message.compressed) item.compressed = true;
  if (message.bytes === null || message.notKept !== undefined) {
    // Nothing, or only the first bytes (shown raw: a prefix does not decode), were kept.
    const kept = message.bytes;
    Object.assign(item, kept === null ? { body: null } : renderBody(kept, kept.length));
    if (kept !== null) {
      item.bodyTruncated = true;
      item.bodySize = message.size;
    }
    item.decodeError = NOT_KEPT[message.notKept ?? 'memoryBudget'];
    budget.left -= kept?.length ?? 0;
    return item;
  }
  let bytes = message.bytes;
  if (message.compressed) {
    const name = (encoding ?? 'identity').trim().toLowerCase();
    // A compressed message names exactly one coding; identity (or none) with the flag set is an error.
    const codings = decodableCodings(name);
    const decoded = codings === null || codings.length !== 1
      ? { ok: false as const, error: `unsupported grpc-encoding ${name}` }
      : decodeBody(bytes, codings, MAX_KEPT_MESSAGE);
    if (!decoded.ok) {
      Object.assign(item, renderBody(bytes, Math.max(0, budget.left)));
      budget.left -= bytes.length;
      item.decodeError = decoded.error;
      return item;
    }
    bytes = decoded.bytes;
    if (bytes.length > budget.left) {
      Object.assign(item, renderBody(bytes, Math.max(0, budget.left)));
      budget.left = 0;
      item.decodeError = 'decoded message larger than --max-body';
      return item;
    }
  }
  budget.left -= bytes.length;
  if (type !== undefined) {
    try {
      const decoded = type.decode(bytes);
      // Fields the schema does not know are skipped by decode; re-encoding shows they existed.
      if (type.encode(decoded).finish().length !== bytes.length) throw new Error(`message has fields ${type.name} does not declare`);
      item.type = type.fullName.replace(/^\./, '');
      item.value = type.toObject(decoded, TO_OBJECT);
      return item;
    } catch (err) {
      item.schemaError = `does not fit ${type.fullName.replace(/^\./, '')}: ${(err as Error).message}`;
    }
  }
  const tree = decodeSchemaless(bytes);
  if (tree !== null) {
    item.value = tree;
    return item;
  }
  Object.assign(item, renderBody(bytes, bytes.length));
  item.decodeError = 'not a protobuf message';
  return item;
}
