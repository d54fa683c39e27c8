// Connection lifecycle: 4-tuple reuse, SYN retransmission, FIN and RST, late packets, idle
// and capacity eviction, buffer caps, midstream orientation, a throwing parser. Payloads are
// the bytes of a real HTTP/1.1 exchange recorded over loopback.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../src/decode/packet.js';
import type { Dir } from '../../src/protocols/types.js';
import { Stats } from '../../src/stats.js';
import { MemoryBudget } from '../../src/memory/budget.js';
import { CONNECTION_COST } from '../../src/tcp/limits.js';
import { SEGMENT_OVERHEAD } from '../../src/tcp/segment-buffer.js';
import { TcpAssembler } from '../../src/tcp/assembler.js';
import { F, PacketFactory, checkStream, cut, prng, recorder, type Endpoints } from './harness.js';
import { recordHttpExchange, type RecordedExchange } from './http-exchange.js';

let http: RecordedExchange;
before(async () => {
  http = await recordHttpExchange();
});

const request = () => http.client.subarray(0, http.client.indexOf('\r\n\r\n') + 4);
const response = () => http.server.subarray(0, 4000);

/** A whole well-behaved connection: handshake, request, response, FIN both ways, last ACK. */
function conversation(factory: PacketFactory, isn: [number, number], req: Buffer, res: Buffer, close = true): Packet[] {
  const out: Packet[] = [];
  const c = (isn[0] + 1) >>> 0;
  const s = (isn[1] + 1) >>> 0;
  out.push(factory.packet(0, isn[0], F.SYN), factory.packet(1, isn[1], F.SYN | F.ACK, undefined, c), factory.packet(0, c, F.ACK, undefined, s));
  const random = prng(isn[0]);
  for (const seg of cut(req, random)) out.push(factory.packet(0, c + seg.offset, F.ACK | F.PSH, seg.bytes, s));
  for (const seg of cut(res, random)) out.push(factory.packet(1, s + seg.offset, F.ACK | F.PSH, seg.bytes, c + req.length));
  if (close) {
    out.push(factory.packet(0, c + req.length, F.FIN | F.ACK, undefined, s + res.length));
    out.push(factory.packet(1, s + res.length, F.FIN | F.ACK, undefined, c + req.length + 1));
    out.push(factory.packet(0, c + req.length + 1, F.ACK, undefined, s + res.length + 1));
  }
  return out;
}

test('a closed 4-tuple reused with a new SYN gives two connections', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  const second = http.client.subarray(request().length, request().length + 300);
  for (const p of conversation(factory, [1000, 5000], request(), response())) asm.push(p);
  assert.equal(asm.connectionCount, 0, 'closed by FIN/FIN');
  for (const p of conversation(factory, [900_000, 77], second, http.server.subarray(0, 100))) asm.push(p);
  assert.equal(rec.connections.length, 2);
  assert.equal(stats.get('tcp.packetsAfterClose'), 0);
  checkStream(rec.connections[0]!.events[0], request(), 'first request');
  checkStream(rec.connections[0]!.events[1], response(), 'first response');
  checkStream(rec.connections[1]!.events[0], second, 'second request');
  assert.ok(rec.connections.every((c) => c.endCount === 1));
});

test('a SYN with a new ISN on an open 4-tuple ends the old connection first', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  for (const p of conversation(factory, [10, 20], request(), response(), false)) asm.push(p);
  assert.equal(rec.connections[0]!.ended, false);
  // The SYN retransmitted with the same ISN is not a new connection.
  asm.push(factory.packet(0, 10, F.SYN));
  assert.equal(rec.connections.length, 1);
  asm.push(factory.packet(0, 4_000_000_000, F.SYN));
  assert.equal(rec.connections.length, 2);
  assert.equal(rec.connections[0]!.endCount, 1);
  assert.equal(rec.connections[1]!.ended, false);
  assert.equal(stats.get('tcp.tuplesReused'), 1);
  assert.equal(asm.connectionCount, 1);
});

test('FIN before the last segment: the connection closes only once every byte is delivered', () => {
  const rec = recorder();
  const asm = new TcpAssembler(rec.open, new Stats());
  const factory = new PacketFactory();
  const [c, s] = [0xffff_fff0 + 1, 3 + 1];
  const req = request();
  const res = response();
  const packets = conversation(factory, [0xffff_fff0, 3], req, res, false);
  const late = packets.pop()!; // the response's last segment, captured after the server's FIN
  for (const p of packets) asm.push(p);
  asm.push(factory.packet(1, s + res.length, F.FIN | F.ACK, undefined, c + req.length));
  asm.push(factory.packet(0, c + req.length, F.FIN | F.ACK, undefined, late.seq));
  assert.equal(asm.connectionCount, 1, 'still waiting for the hole before the FIN');
  assert.equal(rec.connections[0]!.ended, false);
  asm.push(late);
  assert.equal(asm.connectionCount, 0);
  assert.equal(rec.connections[0]!.endCount, 1);
  checkStream(rec.connections[0]!.events[1], res, 'response');
  assert.equal(rec.connections[0]!.gapBytes(1), 0);
});

test('a hole before a FIN that the peer acknowledged is a gap, and the connection closes', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  const [c, s] = [51, 61];
  const req = request();
  const res = response();
  const packets = conversation(factory, [50, 60], req, res, false);
  const lost = packets.pop()!;
  for (const p of packets) asm.push(p);
  asm.push(factory.packet(1, s + res.length, F.FIN | F.ACK, undefined, c + req.length));
  asm.push(factory.packet(0, c + req.length, F.FIN | F.ACK, undefined, s + res.length + 1));
  assert.equal(asm.connectionCount, 0);
  const conn = rec.connections[0]!;
  assert.equal(conn.endCount, 1);
  assert.equal(conn.gapBytes(1), lost.payload.length);
  checkStream(conn.events[1], res, 'response');
  assert.equal(stats.get('tcp.gapsAcked'), 1);
});

test('a SYN-ACK captured before its SYN: one connection, oriented by the SYN-ACK', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const packets = conversation(new PacketFactory(), [0xfffffffe, 500], request(), response());
  [packets[0], packets[1]] = [packets[1]!, packets[0]!];
  for (const p of packets) asm.push(p);
  assert.equal(rec.connections.length, 1);
  assert.equal(stats.get('tcp.tuplesReused'), 0);
  const conn = rec.connections[0]!;
  assert.equal(conn.info.client.port, 40000);
  assert.equal(conn.info.midstream, false);
  checkStream(conn.events[0], request(), 'request');
  checkStream(conn.events[1], response(), 'response');
  assert.equal(conn.endCount, 1);
});

test('late packets after close are counted and ignored', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  const packets = conversation(factory, [1, 2], request(), response());
  for (const p of packets) asm.push(p);
  asm.push(packets.at(-2)!); // retransmitted FIN
  asm.push(packets[5]!); // retransmitted data
  assert.equal(rec.connections.length, 1);
  assert.equal(asm.connectionCount, 0);
  assert.equal(stats.get('tcp.packetsAfterClose'), 2);
});

test('RST closes the connection, reports what was acked but never captured, and ends the parser', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  const packets = conversation(factory, [100, 200], request(), response(), false);
  const dropped = packets.splice(-1, 1)[0]!; // the last response segment never reaches the capture
  for (const p of packets) asm.push(p);
  // The client acknowledges the whole response, then resets.
  const end = 201 + response().length;
  asm.push(factory.packet(0, 101 + request().length, F.ACK, undefined, end));
  asm.push(factory.packet(0, 101 + request().length, F.RST | F.ACK, undefined, end));
  assert.equal(asm.connectionCount, 0);
  assert.equal(stats.get('tcp.resets'), 1);
  const conn = rec.connections[0]!;
  assert.equal(conn.endCount, 1);
  checkStream(conn.events[1], response(), 'response with its tail missing');
  assert.equal(conn.gapBytes(1), dropped.payload.length);
});

test('a lost segment is reported as soon as the peer acked it and later bytes arrived', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  const factory = new PacketFactory();
  const res = response();
  const packets = conversation(factory, [7, 9], request(), res, false);
  const firstResponse = packets.findIndex((p) => p.srcPort === 8080 && p.payload.length > 0);
  const [lost] = packets.splice(firstResponse + 1, 1);
  for (const p of packets) asm.push(p);
  const conn = rec.connections[0]!;
  assert.equal(conn.gapBytes(1), 0, 'no ack for it yet: keep waiting');
  asm.push(factory.packet(0, 8 + request().length, F.ACK, undefined, 10 + res.length));
  assert.equal(conn.gapBytes(1), lost!.payload.length, 'the ack proves the capture lost it');
  assert.equal(stats.get('tcp.gapsAcked'), 1);
  checkStream(conn.events[1], res, 'response');
  assert.equal(conn.ended, false);
});

test('idle connections are evicted by capture time, from push and from expireIdle', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats, { idleTimeoutMicros: 5_000_000 });
  const a = new PacketFactory({ clientIp: '10.0.0.1', clientPort: 40001, serverIp: '10.0.0.2', serverPort: 80 });
  const b = new PacketFactory({ clientIp: '10.0.0.1', clientPort: 40002, serverIp: '10.0.0.2', serverPort: 80 });
  for (const p of conversation(a, [1, 1], request(), response(), false)) asm.push(p);
  b.ts = a.ts + 6_000_000;
  const bPackets = conversation(b, [5, 5], request(), response(), false);
  asm.push(bPackets[0]!);
  assert.equal(rec.connections[0]!.endCount, 1, 'push expired the idle connection');
  assert.equal(stats.get('tcp.connectionsEvicted.idle'), 1);
  assert.equal(asm.connectionCount, 1);
  asm.expireIdle(b.ts + 4_000_000);
  assert.equal(asm.connectionCount, 1, 'not idle long enough');
  asm.expireIdle(b.ts + 5_000_001);
  assert.equal(asm.connectionCount, 0);
  assert.equal(rec.connections[1]!.endCount, 1);
  assert.equal(stats.get('tcp.connectionsEvicted.idle'), 2);
});

test('a full table evicts the least recently active connection', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats, { maxConnections: 3 });
  const factories = [1, 2, 3, 4, 5].map((i) => new PacketFactory({ clientIp: '10.1.0.1', clientPort: 50000 + i, serverIp: '10.1.0.2', serverPort: 6379 }));
  const syn = (i: number) => factories[i]!.packet(0, i * 1000, F.SYN);
  asm.push(syn(0));
  asm.push(syn(1));
  asm.push(syn(2));
  asm.push(factories[0]!.packet(0, 1, F.ACK | F.PSH, request())); // connection 0 active again
  asm.push(syn(3)); // evicts 1, the least recently active
  asm.push(syn(4)); // evicts 2
  assert.equal(asm.connectionCount, 3);
  assert.equal(stats.get('tcp.connectionsEvicted.capacity'), 2);
  assert.deepEqual(rec.connections.map((c) => c.ended), [false, true, true, false, false]);
});

test('a direction over its buffer cap skips its oldest hole with a gap, memory stays bounded', () => {
  const rec = recorder();
  const stats = new Stats();
  const cap = 6000;
  const asm = new TcpAssembler(rec.open, stats, { maxBufferedPerDirection: cap });
  const factory = new PacketFactory();
  const body = http.server.subarray(0, 30_000);
  asm.push(factory.packet(0, 99, F.SYN));
  asm.push(factory.packet(1, 499, F.SYN | F.ACK, undefined, 100));
  const segs = cut(body, prng(3), 1000);
  // The first segment is lost; everything after it arrives.
  for (const seg of segs.slice(1)) {
    asm.push(factory.packet(1, 500 + seg.offset, F.ACK, seg.bytes, 100));
    assert.ok(asm.bufferedBytes <= cap, `buffered ${asm.bufferedBytes}`);
  }
  const conn = rec.connections[0]!;
  assert.equal(conn.gapBytes(1), segs[0]!.bytes.length);
  assert.ok(stats.get('tcp.bufferCapHits.perDirection') >= 1);
  assert.equal(asm.bufferedBytes, 0, 'everything after the skipped hole was in order');
  asm.closeAll(factory.ts);
  checkStream(conn.events[1], body, 'response');
});

test('over the memory budget the largest reorder buffer is forced to gap-skip', () => {
  const rec = recorder();
  const stats = new Stats();
  // Room for two connections, 9500 buffered bytes in 9 segments, and 600 bytes more.
  const held = 2 * CONNECTION_COST + 9500 + 9 * SEGMENT_OVERHEAD;
  const memory = new MemoryBudget(held + 600, stats);
  const asm = new TcpAssembler(rec.open, stats, {}, memory);
  const big = new PacketFactory({ clientIp: '10.2.0.1', clientPort: 41000, serverIp: '10.2.0.2', serverPort: 80 });
  const small = new PacketFactory({ clientIp: '10.2.0.1', clientPort: 41001, serverIp: '10.2.0.2', serverPort: 80 });
  const body = http.server.subarray(0, 20_000);
  for (const f of [big, small]) {
    asm.push(f.packet(0, 0, F.SYN));
    asm.push(f.packet(1, 0, F.SYN | F.ACK, undefined, 1));
  }
  // The big connection buffers 8000 bytes behind a 1000-byte hole; the small one 1500 behind its own.
  for (let off = 1000; off < 9000; off += 1000) asm.push(big.packet(1, 1 + off, F.ACK, body.subarray(off, off + 1000), 1));
  asm.push(small.packet(1, 1 + 500, F.ACK, body.subarray(500, 2000), 1));
  assert.equal(asm.bufferedBytes, 9500 + 9 * SEGMENT_OVERHEAD);
  assert.equal(memory.used, held);
  // One more small segment would go over the budget: the big buffer gives up its hole.
  asm.push(small.packet(1, 1 + 3000, F.ACK, body.subarray(3000, 4000), 1));
  assert.ok(memory.used <= memory.limit);
  assert.equal(stats.get('tcp.bufferCapHits.memory'), 1);
  assert.equal(stats.get('memory.shedBytes.tcp.reorder'), 8000 + 8 * SEGMENT_OVERHEAD);
  assert.equal(rec.connections[0]!.gapBytes(1), 1000);
  assert.equal(rec.connections[1]!.gapBytes(1), 0);
  assert.equal(asm.bufferedBytes, 2500 + 2 * SEGMENT_OVERHEAD);
  asm.closeAll(small.ts);
  assert.equal(memory.used, 0, 'everything released once the connections are gone');
});

test('orientation: SYN sender, SYN-ACK receiver, midstream guess by port', () => {
  const cases: Array<{ ep: Endpoints; flags: number; dir: Dir; client: number; midstream: boolean }> = [
    { ep: { clientIp: '10.0.0.1', clientPort: 45000, serverIp: '10.0.0.2', serverPort: 8080 }, flags: F.SYN, dir: 0, client: 45000, midstream: false },
    { ep: { clientIp: '10.0.0.1', clientPort: 45000, serverIp: '10.0.0.2', serverPort: 8080 }, flags: F.SYN | F.ACK, dir: 1, client: 45000, midstream: false },
    { ep: { clientIp: '10.0.0.1', clientPort: 45000, serverIp: '10.0.0.2', serverPort: 8080 }, flags: F.ACK, dir: 1, client: 45000, midstream: true },
    { ep: { clientIp: '10.0.0.1', clientPort: 45000, serverIp: '10.0.0.2', serverPort: 8080 }, flags: F.ACK, dir: 0, client: 45000, midstream: true },
    // A well-known port marks the server even when the other side's port is lower.
    { ep: { clientIp: 'fd00::1', clientPort: 1023, serverIp: 'fd00::2', serverPort: 443 }, flags: F.ACK, dir: 1, client: 1023, midstream: true },
    { ep: { clientIp: 'fd00::1', clientPort: 2000, serverIp: 'fd00::2', serverPort: 443 }, flags: F.ACK, dir: 1, client: 2000, midstream: true },
  ];
  for (const c of cases) {
    const rec = recorder();
    const asm = new TcpAssembler(rec.open, new Stats());
    const factory = new PacketFactory(c.ep);
    asm.push(factory.packet(c.dir, 1234, c.flags, c.flags === F.ACK ? response() : undefined, 99));
    const info = rec.connections[0]!.info;
    assert.equal(info.client.port, c.client, JSON.stringify(c));
    assert.equal(info.midstream, c.midstream, JSON.stringify(c));
    if (c.flags === F.ACK) {
      // The midstream payload went to the direction matching the guess.
      const dirSeen = c.dir === 0 ? 0 : 1;
      const expectedDir = (info.client.port === c.ep.clientPort) === (dirSeen === 0) ? 0 : 1;
      assert.equal(rec.connections[0]!.bytes(expectedDir as Dir).length, response().length);
    }
  }
});

test('a parser that throws is counted and no longer fed; the assembler carries on', () => {
  const stats = new Stats();
  let calls = 0;
  const rec = recorder();
  let opened = 0;
  const asm = new TcpAssembler(
    (info) => {
      if (opened++ === 0) {
        return {
          onData() {
            calls++;
            throw new Error('parser bug');
          },
          onGap() {},
          onEnd() {
            calls++;
          },
        };
      }
      if (opened === 2) throw new Error('open failed');
      return rec.open(info);
    },
    stats,
  );
  const ep = (port: number): Endpoints => ({ clientIp: '10.3.0.1', clientPort: port, serverIp: '10.3.0.2', serverPort: 80 });
  for (const p of conversation(new PacketFactory(ep(40001)), [1, 2], request(), response())) asm.push(p);
  assert.equal(calls, 1, 'fed once, never again (not even onEnd)');
  for (const p of conversation(new PacketFactory(ep(40002)), [1, 2], request(), response())) asm.push(p);
  for (const p of conversation(new PacketFactory(ep(40003)), [1, 2], request(), response())) asm.push(p);
  assert.equal(stats.get('tcp.parserErrors'), 2);
  assert.equal(asm.connectionCount, 0);
  checkStream(rec.connections[0]!.events[1], response(), 'healthy connection');
});
