// One copy per packet: copies within the window are dropped, the same bytes later are not,
// UDP copies are told apart by their payload, and a full memory forgets its oldest (counted)
// without ever dropping a packet it has not seen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet } from '../../src/decode/packet.js';
import { PacketDedup } from '../../src/node/packet-dedup.js';
import { Stats } from '../../src/stats.js';

function tcp(seq: number, tsMicros: number, payload = 'GET / HTTP/1.1\r\n\r\n'): Packet {
  return { tsMicros, ipVersion: 4, srcIp: '10.1.0.2', dstIp: '10.1.0.3', transport: 'tcp', srcPort: 40000, dstPort: 8080, seq, ack: 7, flags: 0x18, payload: Buffer.from(payload) };
}

function udp(text: string, tsMicros: number): Packet {
  return { tsMicros, ipVersion: 4, srcIp: '10.1.0.2', dstIp: '10.1.0.4', transport: 'udp', srcPort: 5353, dstPort: 53, seq: 0, ack: 0, flags: 0, payload: Buffer.from(text) };
}

test('copies within the window are dropped; the same packet after it is kept', () => {
  const stats = new Stats();
  const dedup = new PacketDedup(stats, { windowMicros: 1000 });
  assert.equal(dedup.firstCopy(tcp(1, 10_000)), true);
  assert.equal(dedup.firstCopy(tcp(1, 10_003)), false, 'the second interface');
  assert.equal(dedup.firstCopy(tcp(1, 9_999)), false, 'an older handle delivering late');
  assert.equal(dedup.firstCopy(tcp(19, 10_005)), true, 'the next segment');
  assert.equal(dedup.firstCopy(tcp(1, 12_000)), true, 'a retransmission after the window');
  assert.equal(stats.get('node.duplicatePackets'), 2);
});

test('UDP datagrams are copies only with the same payload', () => {
  const dedup = new PacketDedup(new Stats(), { windowMicros: 1000 });
  assert.equal(dedup.firstCopy(udp('query A', 1)), true);
  assert.equal(dedup.firstCopy(udp('query B', 2)), true, 'same ports and length, other bytes');
  assert.equal(dedup.firstCopy(udp('query A', 3)), false);
});

test('a full memory forgets its oldest, counted, and still never drops an unseen packet', () => {
  const stats = new Stats();
  const dedup = new PacketDedup(stats, { windowMicros: 1_000_000, maxRemembered: 4 });
  for (let i = 0; i < 10; i++) assert.equal(dedup.firstCopy(tcp(i * 100, 1000 + i)), true);
  assert.equal(dedup.remembered, 4);
  assert.equal(stats.get('node.dedupForgottenEarly'), 6);
  assert.equal(dedup.firstCopy(tcp(900, 1011)), false, 'the newest are still known');
  assert.equal(dedup.firstCopy(tcp(0, 1012)), true, 'the oldest were forgotten: let through, never lost');
});

test('a copy repeats every field: another address, port, flag or length is another packet', () => {
  const dedup = new PacketDedup(new Stats(), { windowMicros: 1000 });
  const base = tcp(1, 10);
  assert.equal(dedup.firstCopy(base), true);
  const variants: Array<Partial<Packet>> = [
    { srcIp: '10.1.0.20' }, { dstIp: '10.1.0.30' }, { srcIp: '10.1.0.3', dstIp: '10.1.0.2' }, { srcPort: 40001 },
    { dstPort: 8081 }, { ack: 8 }, { flags: 0x10 }, { payload: Buffer.from('GET / HTTP/1.1\r\n\r\nX') },
  ];
  for (const v of variants) assert.equal(dedup.firstCopy({ ...base, ...v, tsMicros: 11 }), true, JSON.stringify(v));
  for (const v of variants) assert.equal(dedup.firstCopy({ ...base, ...v, tsMicros: 12 }), false, `${JSON.stringify(v)} again`);
  assert.equal(dedup.remembered, 1 + variants.length);
});
