// The hostile shapes of issue 8 (and the ones they suggest), each a function that writes a
// capture of the given size and spread: transport (h2c upgrade or prior knowledge), one
// connection or many, requests or responses. The tests run them at a few seconds' size;
// `make soak` (test/hostile/soak.ts) runs the same functions at the issue's sizes.

import {
  END_HEADERS, END_STREAM, H2, dataFrames, frame, grpcMessage, grpcRequestBlock, grpcResponseBlock, grpcTrailersBlock,
  indexed, literalIncremental, requestBlock, responseBlock, startH2, type H2Transport,
} from './h2-synth.js';
import { PcapWriter, TcpConversation, ipv4, type Endpoint } from './pcap-synth.js';

export type Direction = 'request' | 'response';
export type Spread = 'streams' | 'connections';

function client(n: number): Endpoint {
  return { ip: ipv4(10, 1 + ((n >> 16) & 0x3f), (n >> 8) & 0xff, n & 0xff), port: 40000 + (n % 20000) };
}
const SERVER: Endpoint = { ip: ipv4(10, 99, 0, 1), port: 8080 };

/** Streams (or connections) in turn, each given by `each(conv, streamId, i)`. */
function h2Spread(path: string, transport: H2Transport, spread: Spread, count: number, each: (conv: TcpConversation, streamId: number, i: number) => void, perConnection = 1): void {
  const w = new PcapWriter(path);
  if (spread === 'streams') {
    const conv = new TcpConversation(w, client(0), SERVER);
    let id = startH2(conv, transport);
    for (let i = 0; i < count; i++, id += 2) each(conv, id, i);
    conv.fin();
  } else {
    for (let c = 0; c * perConnection < count; c++) {
      const conv = new TcpConversation(w, client(c), SERVER);
      let id = startH2(conv, transport);
      for (let k = 0; k < perConnection && c * perConnection + k < count; k++, id += 2) each(conv, id, c * perConnection + k);
      conv.fin();
    }
  }
  w.close();
}

/**
 * HPACK amplification: one entry of `entryBytes` added to the dynamic table, then referenced
 * `refs` times in every header block (RFC 7541 allows it; a header list limit is the only
 * defence, as SETTINGS_MAX_HEADER_LIST_SIZE is for endpoints).
 */
export function hpackAmplification(path: string, o: { transport: H2Transport; direction: Direction; spread: Spread; blocks: number; refs: number; entryBytes?: number }): void {
  const value = Buffer.alloc(o.entryBytes ?? 4000, 'a');
  const refs = Buffer.alloc(o.refs, indexed(62)[0]);
  const added = new WeakSet<TcpConversation>();
  h2Spread(path, o.transport, o.spread, o.blocks, (conv, id) => {
    const first = !added.has(conv);
    added.add(conv);
    const big = Buffer.concat([first ? literalIncremental('x-big', value) : Buffer.alloc(0), refs]);
    if (o.direction === 'request') {
      conv.send(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock(`/amplified/${id}`, big)));
      conv.send(1, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, responseBlock()));
    } else {
      conv.send(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock(`/amplified/${id}`)));
      conv.send(1, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, responseBlock(big)));
    }
  });
}

/** A HEADERS frame without END_HEADERS followed by `frames` empty CONTINUATION frames. */
export function continuationFlood(path: string, o: { transport: H2Transport; direction: Direction; frames: number; streams: number; payload?: number }): void {
  const piece = Buffer.alloc(o.payload ?? 0, 0x82);
  h2Spread(path, o.transport, 'streams', o.streams, (conv, id) => {
    const dir = o.direction === 'request' ? 0 : 1;
    if (dir === 1) conv.send(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock(`/flood/${id}`)));
    const block = dir === 0 ? requestBlock(`/flood/${id}`) : responseBlock();
    conv.send(dir, frame(H2.HEADERS, dir === 0 ? END_STREAM : 0, id, block));
    const one = frame(H2.CONTINUATION, 0, id, piece);
    // Many frames per write, as a flooding peer sends them.
    const batch = Buffer.concat(Array.from({ length: 4096 }, () => one));
    for (let left = o.frames; left > 0; left -= 4096) conv.send(dir, left >= 4096 ? batch : batch.subarray(0, left * one.length));
    conv.send(dir, frame(H2.CONTINUATION, END_HEADERS, id, Buffer.alloc(0)));
    if (dir === 0) conv.send(1, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, responseBlock()));
  });
}

/**
 * `count` requests (or responses) each sending `bodyBytes` of a body announced larger, never
 * finished: over HTTP/1 one connection each, over HTTP/2 one stream each (on one connection,
 * or one connection each).
 */
export function unfinishedBodies(path: string, o: { protocol: 'http1' | 'http2'; transport?: H2Transport; spread?: Spread; direction: Direction; count: number; bodyBytes: number }): void {
  const body = Buffer.alloc(o.bodyBytes, 'b');
  if (o.protocol === 'http2' && o.spread === 'connections') return concurrentH2Bodies(path, o.transport ?? 'prior', o.direction, o.count, body);
  if (o.protocol === 'http2') {
    h2Spread(path, o.transport ?? 'prior', o.spread ?? 'streams', o.count, (conv, id) => {
      if (o.direction === 'request') {
        conv.send(0, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, requestBlock(`/upload/${id}`)), dataFrames(id, body, false)]));
      } else {
        conv.send(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock(`/download/${id}`)));
        conv.send(1, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, responseBlock()), dataFrames(id, body, false)]));
      }
    });
    return;
  }
  const w = new PcapWriter(path);
  const convs: TcpConversation[] = [];
  for (let i = 0; i < o.count; i++) {
    const conv = new TcpConversation(w, client(i), SERVER);
    convs.push(conv);
    if (o.direction === 'request') {
      conv.send(0, Buffer.from(`POST /upload/${i} HTTP/1.1\r\nHost: svc.test\r\nContent-Length: ${o.bodyBytes * 4}\r\n\r\n`, 'latin1'));
    } else {
      conv.send(0, Buffer.from(`GET /download/${i} HTTP/1.1\r\nHost: svc.test\r\n\r\n`, 'latin1'));
      conv.send(1, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${o.bodyBytes * 4}\r\n\r\n`, 'latin1'));
    }
  }
  // Bodies interleaved across connections, as concurrent uploads arrive.
  for (let at = 0; at < body.length; at += 16384) {
    const piece = body.subarray(at, Math.min(body.length, at + 16384));
    for (const conv of convs) conv.send(o.direction === 'request' ? 0 : 1, piece);
  }
  w.close();
}

/** One stream on each of `count` connections, all open at once, their bodies interleaved. */
function concurrentH2Bodies(path: string, transport: H2Transport, direction: Direction, count: number, body: Buffer): void {
  const w = new PcapWriter(path);
  const streams: [TcpConversation, number][] = [];
  for (let c = 0; c < count; c++) {
    const conv = new TcpConversation(w, client(c), SERVER);
    const id = startH2(conv, transport);
    if (direction === 'request') conv.send(0, frame(H2.HEADERS, END_HEADERS, id, requestBlock(`/upload/${id}`)));
    else {
      conv.send(0, frame(H2.HEADERS, END_HEADERS | END_STREAM, id, requestBlock(`/download/${id}`)));
      conv.send(1, frame(H2.HEADERS, END_HEADERS, id, responseBlock()));
    }
    streams.push([conv, id]);
  }
  for (let at = 0; at < body.length; at += 16384) {
    const piece = body.subarray(at, Math.min(body.length, at + 16384));
    for (const [conv, id] of streams) conv.send(direction === 'request' ? 0 : 1, frame(H2.DATA, 0, id, piece));
  }
  w.close();
}

/** gRPC calls each carrying `messages` messages of `size` bytes in the given direction. */
export function grpcLargeMessages(path: string, o: { transport: H2Transport; direction: Direction; calls: number; messages: number; size: number }): void {
  const body = Buffer.alloc(o.size, 0);
  // A valid protobuf: field 1, length-delimited, filling the message.
  const payload = protobufBytesField(body.length);
  h2Spread(path, o.transport, 'streams', o.calls, (conv, id) => {
    const messages = Buffer.concat(Array.from({ length: o.messages }, () => grpcMessage(payload)));
    const one = grpcMessage(protobufBytesField(8));
    conv.send(0, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, grpcRequestBlock('/hostile.v1.Big/Call')),
      dataFrames(id, o.direction === 'request' ? messages : one, true)]));
    conv.send(1, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, grpcResponseBlock()),
      dataFrames(id, o.direction === 'response' ? messages : one, false),
      frame(H2.HEADERS, END_HEADERS | END_STREAM, id, grpcTrailersBlock())]));
  });
}

/** A protobuf message of exactly `size` bytes: field 1 (bytes) holding the rest. */
function protobufBytesField(size: number): Buffer {
  for (let lenBytes = 1; lenBytes <= 5; lenBytes++) {
    const inner = size - 1 - lenBytes;
    if (inner >= 0 && inner < 2 ** (7 * lenBytes) && (lenBytes === 1 || inner >= 2 ** (7 * (lenBytes - 1)))) {
      const out = Buffer.alloc(size, 0x01);
      out[0] = 0x0a;
      let v = inner;
      for (let i = 0; i < lenBytes; i++) {
        out[1 + i] = (v & 0x7f) | (i < lenBytes - 1 ? 0x80 : 0);
        v = Math.floor(v / 128);
      }
      return out;
    }
  }
  return Buffer.alloc(size);
}

export { END_STREAM };

/**
 * `commands` pipelined requests with no reply until all are sent (then, if `replies`, every
 * reply in order): Redis GET k<i> answered v<i>, or HTTP/1.1 GET /k<i> answered with body v<i>.
 */
export function pipelined(path: string, o: { protocol: 'redis' | 'http1'; commands: number; replies: boolean; connections?: number }): void {
  const w = new PcapWriter(path);
  const server: Endpoint = o.protocol === 'redis' ? { ip: SERVER.ip, port: 6379 } : SERVER;
  for (let c = 0; c < (o.connections ?? 1); c++) {
    const conv = new TcpConversation(w, client(c), server);
    const request = (i: number) => o.protocol === 'redis'
      ? `*2\r\n$3\r\nGET\r\n$${`k${i}`.length}\r\nk${i}\r\n`
      : `GET /k${i} HTTP/1.1\r\nHost: svc.test\r\n\r\n`;
    const reply = (i: number) => o.protocol === 'redis'
      ? `$${`v${i}`.length}\r\nv${i}\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Length: ${`v${i}`.length}\r\n\r\nv${i}`;
    for (const [dir, make] of o.replies ? [[0, request], [1, reply]] as const : [[0, request]] as const) {
      let batch: string[] = [];
      for (let i = 0; i < o.commands; i++) {
        batch.push(make(i));
        if (batch.length === 500 || i === o.commands - 1) {
          conv.send(dir, Buffer.from(batch.join(''), 'latin1'));
          batch = [];
        }
      }
    }
    conv.fin();
  }
  w.close();
}
