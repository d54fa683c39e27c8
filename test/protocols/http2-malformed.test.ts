// Garbage and broken frames never throw out of the HTTP/2 dissector: they are counted and
// the parser resynchronises. Also detection from the client preface of a real client.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { test } from 'node:test';
import { http2Dissector } from '../../src/protocols/http2/dissector.js';
import { recordingContext } from '../helpers/context.js';


test('a real client preface is detected; an HTTP/1 request is not', async () => {
  // What node's HTTP/2 client really sends first, received by a plain TCP listener.
  const first = await new Promise<Buffer>((resolve) => {
    const listener = createNetServer((socket) =>
      socket.once('data', (data: Buffer) => {
        resolve(data);
        socket.destroy();
        listener.close();
      }),
    );
    listener.listen(0, '127.0.0.1', () => {
      const client = connect(`http://127.0.0.1:${(listener.address() as { port: number }).port}`);
      client.on('error', () => undefined);
    });
  });
  const probe = { client: first, server: Buffer.alloc(0), clientPort: 1, serverPort: 2, midstream: false };
  assert.equal(http2Dissector.detect(probe), 'yes');
  assert.equal(http2Dissector.detect({ ...probe, client: first.subarray(0, 10) }), 'more');
  assert.equal(http2Dissector.detect({ ...probe, client: Buffer.from('GET / HTTP/1.1\r\n\r\n') }), 'no');
});

test('garbage after the preface is counted and skipped, never thrown', () => {
  const ctx = recordingContext();
  const { calls, stats } = ctx;
  const parser = http2Dissector.create(ctx);
  parser.onData(0, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), 1);
  // The one malformed case this test exists for: a HEADERS frame whose pad length exceeds its
  // payload, then a CONTINUATION for a block that never started, then random bytes.
  const badHeaders = Buffer.from([0, 0, 2, 0x1, 0x8 | 0x4, 0, 0, 0, 1, 200, 0]);
  const strayContinuation = Buffer.from([0, 0, 1, 0x9, 0x4, 0, 0, 0, 3, 0x82]);
  parser.onData(0, Buffer.concat([badHeaders, strayContinuation]), 2);
  parser.onGap(0, 100, 3);
  parser.onData(0, Buffer.from('\xff\xfe garbage that is no frame at all \x00\x01', 'latin1'), 4);
  parser.onData(1, Buffer.from([0, 0, 0, 0x4, 0x1, 0, 0, 0, 0]), 5); // SETTINGS ACK with no SETTINGS
  parser.onEnd(6);
  assert.equal(stats.get('http2.malformedFrames'), 1);
  assert.equal(stats.get('http2.strayContinuation'), 1);
  assert.equal(stats.get('http2.gapResyncs'), 1);
  assert.ok(stats.get('http2.resyncBytesSkipped') > 0);
  assert.equal(calls.length, 0);
});
