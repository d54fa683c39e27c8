// Reassembly of a real capture (testdata/tcp/retransmissions.pcap, see its record.sh): real
// kernel retransmissions (iptables dropped packets after tcpdump saw them), a 4-tuple reused
// by a second connection, and a connection ended by RST. The reassembled streams must hash to
// what the programs actually wrote. Then the same packets with capture loss simulated by
// dropping frames: exact except at reported gaps, and gaps only where frames were dropped.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readCaptureStream } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import type { Packet } from '../../src/decode/packet.js';
import { Stats } from '../../src/stats.js';
import { TcpAssembler } from '../../src/tcp/assembler.js';
import { F, checkStream, prng, recorder } from './harness.js';

const pcap = new URL('../../testdata/tcp/retransmissions.pcap', import.meta.url);
interface ExpectedDirection {
  bytes: number;
  sha256: string;
}
interface ExpectedConnection {
  clientPort: number;
  serverPort: number;
  clientToServer: ExpectedDirection;
  serverToClient: ExpectedDirection;
}
const expected: ExpectedConnection[] = JSON.parse(readFileSync(new URL('../../testdata/tcp/retransmissions.expected.json', import.meta.url), 'utf8'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every TCP packet of the capture, payload copied (the reader reuses frame memory). */
let packets: Packet[] = [];
before(async () => {
  const decoder = new PacketDecoder(new Stats());
  await readCaptureStream(createReadStream(pcap), (frame) => {
    const p = decoder.decode(frame);
    if (p !== null && p.transport === 'tcp') packets.push({ ...p, payload: Buffer.from(p.payload) });
  });
});

test('real retransmissions, 4-tuple reuse and RST: streams equal what the programs wrote', () => {
  const rec = recorder();
  const stats = new Stats();
  const asm = new TcpAssembler(rec.open, stats);
  for (const p of packets) asm.push(p);
  asm.closeAll(packets.at(-1)!.tsMicros);
  assert.equal(rec.connections.length, expected.length);
  rec.connections.forEach((conn, i) => {
    const want = expected[i]!;
    assert.equal(conn.info.midstream, false);
    assert.equal(conn.info.client.port, want.clientPort);
    assert.equal(conn.info.server.port, want.serverPort);
    for (const [dir, side] of [[0, want.clientToServer], [1, want.serverToClient]] as const) {
      assert.equal(conn.gapBytes(dir), 0, `connection ${i} dir ${dir}: no gap`);
      const bytes = conn.bytes(dir);
      assert.equal(bytes.length, side.bytes, `connection ${i} dir ${dir}: length`);
      assert.equal(sha256(bytes), side.sha256, `connection ${i} dir ${dir}: content`);
    }
    assert.equal(conn.endCount, 1);
  });
  assert.ok(stats.get('tcp.retransmittedBytes') > 0, 'the capture holds retransmissions');
  const [first, second] = rec.connections;
  assert.deepEqual([first!.info.client, first!.info.server], [second!.info.client, second!.info.server], 'the 4-tuple was reused');
  assert.equal(stats.get('tcp.tuplesReused'), 0, 'the first connection was closed by FIN/FIN before the new SYN');
  assert.equal(stats.get('tcp.resets'), 1);
  assert.equal(asm.connectionCount, 0);
});

test('real packets with capture loss: exact except at gaps, gaps only where frames were lost', () => {
  // The full streams, already proven equal to the ground truth by the test above.
  const full = recorder();
  const fullAsm = new TcpAssembler(full.open, new Stats());
  for (const p of packets) fullAsm.push(p);
  fullAsm.closeAll(0);
  const streams = full.connections.map((c) => [c.bytes(0), c.bytes(1)] as const);

  let totalGaps = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const random = prng(seed);
    const rate = 0.02 + random() * 0.1;
    const lost = new Set<Packet>();
    for (const p of packets) if (p.payload.length > 0 && (p.flags & (F.SYN | F.FIN | F.RST)) === 0 && random() < rate) lost.add(p);
    const rec = recorder();
    const asm = new TcpAssembler(rec.open, new Stats());
    for (const p of packets) if (!lost.has(p)) asm.push(p);
    asm.closeAll(packets.at(-1)!.tsMicros);
    assert.equal(rec.connections.length, streams.length, `seed ${seed}`);
    rec.connections.forEach((conn, i) => {
      for (const dir of [0, 1] as const) {
        const gaps = checkStream(conn.events[dir], streams[i]![dir], `seed ${seed} connection ${i} dir ${dir}`);
        totalGaps += gaps.length;
        // Stream offsets of lost packets, from the connection's ISN.
        const isnPacket = packets.find((p) => (p.flags & F.SYN) !== 0 && p.tsMicros >= conn.info.tsMicros && (dir === 0) === ((p.flags & F.ACK) === 0))!;
        const base = (isnPacket.seq + 1) >>> 0;
        const port = dir === 0 ? conn.info.client.port : conn.info.server.port;
        const clientPort = conn.info.client.port;
        const next = rec.connections.find((c) => c.info.client.port === clientPort && c.info.tsMicros > conn.info.tsMicros);
        const lostRanges = [...lost]
          .filter((p) => p.srcPort === port && (p.srcPort === clientPort || p.dstPort === clientPort))
          .filter((p) => p.tsMicros >= conn.info.tsMicros && (next === undefined || p.tsMicros < next.info.tsMicros))
          .map((p) => [(p.seq - base) >>> 0, ((p.seq - base) >>> 0) + p.payload.length] as const);
        for (const [start, end] of gaps) {
          for (let b = start; b < end; b++) {
            if (!lostRanges.some(([s, e]) => s <= b && b < e)) assert.fail(`seed ${seed} connection ${i} dir ${dir}: gap byte ${b} was never lost`);
          }
        }
      }
    });
  }
  assert.ok(totalGaps > 50, `losses produced gaps (${totalGaps})`);
});
