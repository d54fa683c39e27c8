// The connection table finds a packet's connection by its port pair folded to a small
// integer, then by the addresses along the chain of connections sharing that key
// (src/tuple-table.ts). These keep connections that share a key apart, packets interleaved
// in both directions, and check that closing one at the head, middle or end of a chain
// leaves the others whole, and that a closed tuple's late packets are still told apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../src/decode/packet.js';
import { Stats } from '../../src/stats.js';
import { TcpAssembler } from '../../src/tcp/assembler.js';
import { F, PacketFactory, recorder, type Endpoints } from './harness.js';

const server = { serverIp: '10.0.0.2', serverPort: 8080 };
// Four connections with one key: the same ports from three clients, and a server port 16384
// (2^14) higher, which folds onto the same key with the same client port.
const endpoints: Endpoints[] = [
  { clientIp: '10.0.0.1', clientPort: 40000, ...server },
  { clientIp: '10.0.0.3', clientPort: 40000, ...server },
  { clientIp: '10.0.0.4', clientPort: 40000, ...server },
  { clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 8080 + 16384 },
];

/** A connection's packets: handshake, one request and one response, then FIN both ways and the last ACK. */
function exchange(factory: PacketFactory, n: number): { open: Packet[]; data: Packet[]; close: Packet[] } {
  const req = Buffer.from(`request ${n} from ${factory.ep.clientIp}:${factory.ep.serverPort}`);
  const res = Buffer.from(`response ${n}`);
  const c = 1001 + n;
  const s = 5001 + n;
  return {
    open: [factory.packet(0, c - 1, F.SYN), factory.packet(1, s - 1, F.SYN | F.ACK, undefined, c), factory.packet(0, c, F.ACK, undefined, s)],
    data: [factory.packet(0, c, F.ACK | F.PSH, req, s), factory.packet(1, s, F.ACK | F.PSH, res, c + req.length)],
    close: [
      factory.packet(0, c + req.length, F.FIN | F.ACK, undefined, s + res.length),
      factory.packet(1, s + res.length, F.FIN | F.ACK, undefined, c + req.length + 1),
      factory.packet(0, c + req.length + 1, F.ACK, undefined, s + res.length + 1),
    ],
  };
}

function assemble(closeOrder: number[]) {
  const stats = new Stats();
  const rec = recorder();
  const tcp = new TcpAssembler(rec.open, stats);
  const conns = endpoints.map((ep, n) => exchange(new PacketFactory(ep), n));
  for (const c of conns) for (const p of c.open) tcp.push(p);
  assert.equal(tcp.connectionCount, 4);
  // Interleaved: each connection's request, then the responses in the other order.
  for (const c of conns) tcp.push(c.data[0]!);
  for (const c of [...conns].reverse()) tcp.push(c.data[1]!);
  const open = new Set([0, 1, 2, 3]);
  for (const n of closeOrder) {
    for (const p of conns[n]!.close) tcp.push(p);
    open.delete(n);
    assert.equal(tcp.connectionCount, open.size, `after closing ${n}`);
    assert.equal(rec.connections[n]!.ended, true, `connection ${n} ended`);
    for (const m of open) assert.equal(rec.connections[m]!.ended, false, `connection ${m} still open after ${n} closed`);
  }
  return { stats, rec, tcp, conns };
}

for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]]) {
  test(`connections sharing a key keep their own bytes, closed in the order ${order.join(', ')}`, () => {
    const { stats, rec } = assemble(order);
    assert.equal(rec.connections.length, 4);
    rec.connections.forEach((c, n) => {
      const ep = endpoints[n]!;
      assert.deepEqual([c.info.client, c.info.server], [{ ip: ep.clientIp, port: ep.clientPort }, { ip: ep.serverIp, port: ep.serverPort }]);
      assert.equal(c.bytes(0).toString(), `request ${n} from ${ep.clientIp}:${ep.serverPort}`);
      assert.equal(c.bytes(1).toString(), `response ${n}`);
      assert.equal(c.endCount, 1);
    });
    assert.equal(stats.get('tcp.connections'), 4);
    assert.equal(stats.get('tcp.packetsAfterClose'), 0);
  });
}

test('a late packet of a closed tuple is counted, not mistaken for a connection that shares its key', () => {
  const { stats, tcp, rec, conns } = assemble([1]);
  // Connection 1 is closed: its retransmitted request is late; connection 0's next one is not.
  tcp.push(conns[1]!.data[0]!);
  assert.equal(stats.get('tcp.packetsAfterClose'), 1);
  const more = new PacketFactory(endpoints[0]!).packet(0, 1001 + conns[0]!.data[0]!.payload.length, F.ACK | F.PSH, Buffer.from(' and more'), 5001 + 9);
  tcp.push(more);
  assert.equal(rec.connections[0]!.bytes(0).toString(), 'request 0 from 10.0.0.1:8080 and more');
  assert.equal(rec.connections.length, 4);
  assert.equal(tcp.connectionCount, 3);
});
