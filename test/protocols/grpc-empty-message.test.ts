// An empty gRPC message (google.protobuf.Empty, a bare ack) has a 5-byte prefix and no bytes.
// It is a whole, decodable message, not one the memory budget dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { GrpcMessageReader } from '../../src/protocols/grpc/framing.js';
import { renderMessages } from '../../src/protocols/grpc/messages.js';
import { Stats } from '../../src/stats.js';

/** One length-prefixed message as it is on the wire. */
function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

const NAME = Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]); // field 1 = "abc"

function readAll(wire: Buffer, pieceSize: number): GrpcMessageReader {
  const reader = new GrpcMessageReader(16, 64 * 1024, null, new Stats());
  for (let pos = 0; pos < wire.length; pos += pieceSize) reader.push(wire.subarray(pos, pos + pieceSize));
  reader.end();
  return reader;
}

test('an empty message decodes as an empty tree, between others, however the bytes are split', () => {
  const wire = Buffer.concat([frame(NAME), frame(Buffer.alloc(0)), frame(NAME)]);
  for (const pieceSize of [1, 3, wire.length]) {
    const reader = readAll(wire, pieceSize);
    assert.equal(reader.incomplete, false);
    const items = renderMessages(reader.messages, undefined, undefined, 64 * 1024);
    assert.deepEqual(items, [
      { size: 5, value: { 1: 'abc' } },
      { size: 0, value: {} },
      { size: 5, value: { 1: 'abc' } },
    ], `pieces of ${pieceSize} bytes`);
  }
});

test('an empty message decodes by name with a schema', () => {
  const root = protobuf.parse('syntax = "proto3"; package t; message Empty {}').root;
  const reader = readAll(frame(Buffer.alloc(0)), 5);
  const [item] = renderMessages(reader.messages, undefined, root.lookupType('t.Empty'), 64 * 1024);
  assert.deepEqual(item, { size: 0, type: 't.Empty', value: {} });
});

test('shedding for the memory budget takes the bytes of others, an empty message stays whole', () => {
  const reader = readAll(Buffer.concat([frame(NAME), frame(Buffer.alloc(0))]), 64);
  reader.shed();
  const [named, empty] = renderMessages(reader.messages, undefined, undefined, 64 * 1024);
  assert.equal(named.decodeError, 'message not kept: over the memory budget');
  assert.deepEqual(empty, { size: 0, value: {} });
});
