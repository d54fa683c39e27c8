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

/**
 * TLS handshakes whose ClientHello is `helloBytes` long (a padding extension, RFC 7685, fills
 * it) and cut into handshake records of `recordBytes` each (down to 1), then a ServerHello,
 * ChangeCipherSpec and some encrypted-looking application data.
 */
export function tlsHandshakes(path: string, o: { connections: number; helloBytes: number; recordBytes: number; mss?: number }): void {
  const w = new PcapWriter(path);
  for (let c = 0; c < o.connections; c++) {
    const conv = new TcpConversation(w, client(c), { ip: SERVER.ip, port: 8443 });
    conv.send(0, records(22, 0x0301, clientHello(`host-${c}.svc.test`, o.helloBytes), o.recordBytes), o.mss);
    conv.send(1, Buffer.concat([records(22, 0x0303, serverHello(), 16384), Buffer.from([20, 3, 3, 0, 1, 1]), records(23, 0x0303, Buffer.alloc(300, 7), 16384)]));
    conv.send(0, Buffer.concat([Buffer.from([20, 3, 3, 0, 1, 1]), records(23, 0x0303, Buffer.alloc(200, 9), 16384)]));
    conv.fin();
  }
  w.close();
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function handshake(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([head, body]);
}

function records(type: number, version: number, bytes: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + size));
    out.push(Buffer.from([type, version >> 8, version & 0xff]), u16(piece.length), piece);
  }
  return Buffer.concat(out);
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

function clientHello(sni: string, total: number): Buffer {
  const name = Buffer.from(sni, 'latin1');
  const serverName = extension(0, Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name]));
  const versions = extension(43, Buffer.from([2, 3, 4]));
  const fixed = Buffer.concat([u16(0x0303), Buffer.alloc(32, 1), Buffer.from([32]), Buffer.alloc(32, 2), u16(4), u16(0x1301), u16(0x1302), Buffer.from([1, 0])]);
  // handshake header (4) + fixed + extensions length (2) + the extensions = total
  const padLength = Math.max(0, total - 4 - fixed.length - 2 - serverName.length - versions.length - 4);
  const padding = extension(21, Buffer.alloc(padLength));
  const extensions = Buffer.concat([serverName, versions, padding]);
  return handshake(1, Buffer.concat([fixed, u16(extensions.length), extensions]));
}

function serverHello(): Buffer {
  const extensions = extension(43, u16(0x0304));
  return handshake(2, Buffer.concat([u16(0x0303), Buffer.alloc(32, 3), Buffer.from([32]), Buffer.alloc(32, 2), u16(0x1302), Buffer.from([0]), u16(extensions.length), extensions]));
}

/**
 * Kafka producers whose first request (a valid Produce v2, one magic-1 message) carries
 * `produceBytes` of value, answered, then a small Produce, answered; with or without the
 * connection's handshake in the capture; with `acks0`, neither is ever answered (acks=0).
 */
export function kafkaLargeFirstRequest(path: string, o: { connections: number; produceBytes: number; handshake: boolean; acks0?: boolean }): void {
  const w = new PcapWriter(path);
  const acks = o.acks0 ? 0 : 1;
  for (let c = 0; c < o.connections; c++) {
    const conv = new TcpConversation(w, client(c), { ip: SERVER.ip, port: 9092 }, o.handshake);
    conv.send(0, kafkaProduce(1, o.produceBytes, acks));
    if (!o.acks0) conv.send(1, kafkaProduceResponse(1));
    conv.send(0, kafkaProduce(2, 100, acks));
    if (!o.acks0) conv.send(1, kafkaProduceResponse(2));
    conv.fin();
  }
  w.close();
}

function i16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function kstr(s: string): Buffer {
  return Buffer.concat([i16(s.length), Buffer.from(s, 'latin1')]);
}

function sized(body: Buffer): Buffer {
  return Buffer.concat([i32(body.length), body]);
}

function kafkaProduce(correlationId: number, valueBytes: number, acks = 1): Buffer {
  const message = Buffer.concat([i32(0), Buffer.from([1, 0]), Buffer.alloc(8), i32(-1), sized(Buffer.alloc(valueBytes, 'k'))]);
  const set = Buffer.concat([Buffer.alloc(8), sized(message)]);
  const body = Buffer.concat([i16(0), i16(2), i32(correlationId), kstr('producer-1'), i16(acks), i32(30_000),
    i32(1), kstr('events'), i32(1), i32(0), sized(set)]);
  return sized(body);
}

function kafkaProduceResponse(correlationId: number): Buffer {
  return sized(Buffer.concat([i32(correlationId), i32(1), kstr('events'), i32(1), i32(0), i16(0), Buffer.alloc(8), Buffer.alloc(8, 0xff), i32(0)]));
}

/**
 * A gRPC connection the capture joined long after its preface and SETTINGS (no handshake in
 * the capture, HPACK tables filled before it): `streams` calls already in progress, each
 * streaming `messages` messages of `size` bytes both ways then ending with trailers, and one
 * new unary call whose headers reference the (unknown) dynamic table.
 */
export function grpcJoinedLate(path: string, o: { streams: number; messages: number; size: number; clientPort?: number }): void {
  const w = new PcapWriter(path);
  const conv = new TcpConversation(w, { ...client(0), port: o.clientPort ?? 40000 }, { ip: SERVER.ip, port: 50051 }, false);
  const message = grpcMessage(protobufBytesField(o.size));
  for (let m = 0; m < o.messages; m++) {
    for (let s = 0; s < o.streams; s++) {
      const id = 2 * s + 1;
      conv.send(0, dataFrames(id, message, false));
      conv.send(1, dataFrames(id, message, false));
    }
  }
  for (let s = 0; s < o.streams; s++) {
    conv.send(0, frame(H2.DATA, END_STREAM, 2 * s + 1));
    conv.send(1, frame(H2.HEADERS, END_HEADERS | END_STREAM, 2 * s + 1, grpcTrailersBlock()));
  }
  // A new call: :method POST, :scheme http static; :path, content-type, te from the dynamic table.
  const id = 2 * o.streams + 1;
  conv.send(0, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, Buffer.concat([indexed(3), indexed(6), indexed(64), indexed(63), indexed(62)])),
    dataFrames(id, grpcMessage(protobufBytesField(20)), true)]));
  conv.send(1, Buffer.concat([frame(H2.HEADERS, END_HEADERS, id, Buffer.concat([indexed(8), indexed(62)])),
    dataFrames(id, grpcMessage(protobufBytesField(30)), false), frame(H2.HEADERS, END_HEADERS | END_STREAM, id, grpcTrailersBlock())]));
  w.close();
}

/**
 * `connections` connections each left holding an unfinished message of about `bytes`: an
 * HTTP/1 head without its end, a Redis array whose elements keep coming, a Kafka frame (after
 * one small answered Produce) announced larger than what is sent, a TLS ClientHello cut short.
 */
export function partialMessages(path: string, o: { protocol: 'http1' | 'http2' | 'redis' | 'kafka' | 'tls'; connections: number; bytes: number }): void {
  const w = new PcapWriter(path);
  const port = { http1: 8080, http2: 8080, redis: 6379, kafka: 9092, tls: 8443 }[o.protocol];
  const convs: TcpConversation[] = [];
  for (let c = 0; c < o.connections; c++) {
    const conv = new TcpConversation(w, client(c), { ip: SERVER.ip, port });
    if (o.protocol === 'http1') conv.send(0, Buffer.from('GET /partial HTTP/1.1\r\nHost: svc.test\r\nX-Long: ', 'latin1'));
    if (o.protocol === 'redis') conv.send(0, Buffer.from(`*${o.bytes}\r\n`, 'latin1'));
    if (o.protocol === 'http2') {
      startH2(conv, 'prior');
      // A HEADERS frame announced at 1,000,000 bytes (a server may allow 16 MiB frames).
      const head = frame(H2.HEADERS, END_HEADERS, 1, Buffer.alloc(0));
      head.writeUIntBE(1_000_000, 0, 3);
      conv.send(0, head);
    }
    if (o.protocol === 'kafka') {
      conv.send(0, kafkaProduce(1, 100));
      conv.send(1, kafkaProduceResponse(1));
      conv.send(0, kafkaProduce(2, o.bytes * 4).subarray(0, 1000));
    }
    convs.push(conv);
  }
  const hello = records(22, 0x0301, clientHello('partial.svc.test', Math.min(o.bytes * 2, 65_000)), 16384).subarray(0, o.bytes);
  for (let at = 0; at < o.bytes; at += 4096) {
    const n = Math.min(4096, o.bytes - at);
    for (const conv of convs) {
      if (o.protocol === 'http1') conv.send(0, Buffer.alloc(n, 'a'));
      else if (o.protocol === 'redis') conv.send(0, Buffer.from('$1\r\na\r\n'.repeat(Math.ceil(n / 7)), 'latin1'));
      else if (o.protocol === 'kafka') conv.send(0, Buffer.alloc(n, 'k'));
      else if (o.protocol === 'http2') conv.send(0, Buffer.alloc(n, 0x82));
      else conv.send(0, hello.subarray(at, at + n));
    }
  }
  w.close();
}

/** One AMQP 0-9-1 frame: type, channel, size, payload, frame-end. */
function amqpFrame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

function amqpMethod(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt16BE(classId, 0);
  id.writeUInt16BE(methodId, 2);
  return amqpFrame(1, channel, Buffer.concat([id, args]));
}

function shortstr(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
}

/**
 * An AMQP client that never hears back, round-robin over `channels` channels, `perChannel`
 * items each: `requests` are queue.declare (a synchronous method, waiting for declare-ok,
 * queue names of `nameBytes`); `publishes` are basic.publish on confirm channels (after a
 * no-wait confirm.select) with a small body, waiting for the broker's basic.ack.
 */
export function amqpUnanswered(path: string, o: { kind: 'requests' | 'publishes'; channels: number; perChannel: number; nameBytes: number }): void {
  const w = new PcapWriter(path);
  const conv = new TcpConversation(w, client(0), { ip: SERVER.ip, port: 5672 });
  conv.send(0, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  let batch: Buffer[] = [];
  const flush = () => {
    conv.send(0, Buffer.concat(batch));
    batch = [];
  };
  if (o.kind === 'publishes') {
    // confirm.select with no-wait: nothing waits on it.
    for (let ch = 1; ch <= o.channels; ch++) batch.push(amqpMethod(ch, 85, 10, Buffer.from([1])));
    flush();
  }
  const body = Buffer.from('hello');
  for (let i = 0; i < o.perChannel; i++) {
    for (let ch = 1; ch <= o.channels; ch++) {
      const name = `q${ch}-${i}-`.padEnd(o.nameBytes, 'x');
      if (o.kind === 'requests') {
        batch.push(amqpMethod(ch, 50, 10, Buffer.concat([Buffer.alloc(2), shortstr(name), Buffer.from([0]), Buffer.alloc(4)])));
      } else {
        batch.push(amqpMethod(ch, 60, 40, Buffer.concat([Buffer.alloc(2), shortstr(''), shortstr(name), Buffer.from([0])])));
        const header = Buffer.alloc(14);
        header.writeUInt16BE(60, 0);
        header.writeBigUInt64BE(BigInt(body.length), 4);
        batch.push(amqpFrame(2, ch, header), amqpFrame(3, ch, body));
      }
      if (batch.length >= 500) flush();
    }
  }
  if (batch.length > 0) flush();
  conv.fin();
  w.close();
}
