// The UDP flow table finds a flow by its port pair folded to a small integer, then by its
// addresses along the chain of flows that share that key. These check flows that share a
// key are kept apart (same ports and other addresses; ports that fold alike), in both
// directions, and that ending one at the head, middle or end of a chain leaves the others.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from '../../src/entry.js';
import type { Packet } from '../../src/decode/packet.js';
import { engineOptions } from '../../src/engine.js';
import { UdpFlows } from '../../src/protocols/udp-flows.js';
import { Stats } from '../../src/stats.js';
import { dnsNoAnswers as answer, dnsQuery } from '../hostile/transport-shapes.js';

interface End {
  ip: string;
  port: number;
}

function table(maxFlows = 65536) {
  const stats = new Stats();
  const calls: { call: Call; client: string; server: string }[] = [];
  const flows = new UdpFlows(engineOptions({}), stats, (call, c, s) => calls.push({ call, client: `${c.ip}:${c.port}`, server: `${s.ip}:${s.port}` }), { maxFlows });
  let ts = 1_700_000_000_000_000;
  const send = (from: End, to: End, payload: Buffer) => {
    const p: Packet = { tsMicros: (ts += 100), ipVersion: 4, srcIp: from.ip, dstIp: to.ip, transport: 'udp', srcPort: from.port, dstPort: to.port, seq: 0, ack: 0, flags: 0, payload };
    flows.push(p);
  };
  return { stats, calls, flows, send, end: () => flows.closeAll((ts += 100)) };
}

const resolver = { ip: '10.96.0.10', port: 53 };
// 53 and 16437 differ by 16384: with the same client port they fold to the same key.
const otherResolver = { ip: '10.96.0.10', port: 53 + 16384 };
const clients = [
  { ip: '10.1.0.7', port: 41000 },
  { ip: '10.1.0.8', port: 41000 },
  { ip: '10.1.0.9', port: 41000 },
];

test('flows sharing a key are told apart by their addresses, answered in any order', () => {
  const t = table();
  const queries = clients.map((c, i) => dnsQuery(0x100 + i, `svc${i}.shop.svc.cluster.local`));
  clients.forEach((c, i) => t.send(c, resolver, queries[i]));
  t.send(clients[0], otherResolver, dnsQuery(0x200, 'other.shop.svc.cluster.local'));
  assert.equal(t.flows.flowCount, 4);
  for (const i of [2, 0, 1]) t.send(resolver, clients[i], answer(queries[i]));
  t.send(otherResolver, clients[0], answer(dnsQuery(0x200, 'other.shop.svc.cluster.local')));
  t.end();
  assert.deepEqual(
    t.calls.map((c) => [c.call.summary, c.client, c.server, c.call.response === null]),
    [
      ['A svc2.shop.svc.cluster.local -> no answers', '10.1.0.9:41000', '10.96.0.10:53', false],
      ['A svc0.shop.svc.cluster.local -> no answers', '10.1.0.7:41000', '10.96.0.10:53', false],
      ['A svc1.shop.svc.cluster.local -> no answers', '10.1.0.8:41000', '10.96.0.10:53', false],
      ['A other.shop.svc.cluster.local -> no answers', '10.1.0.7:41000', '10.96.0.10:16437', false],
    ],
  );
  assert.equal(t.stats.get('dns.unmatchedResponse'), 0);
  assert.equal(t.flows.flowCount, 0);
});

test('ending a flow in the middle of a chain, at its end or at its head leaves the others found', () => {
  const t = table(3);
  const [c7, c8, c9] = clients;
  const q = (n: number) => dnsQuery(0x500 + n, `q${n}.shop.svc.cluster.local`); // id 0 would look like mDNS
  const newcomer = (n: number) => ({ ip: `10.2.0.${n}`, port: 42000 });
  const flowsMade = () => t.stats.get('engine.flows.dns');
  const evicted = () => t.calls.filter((c) => c.call.response === null).map((c) => c.client);

  clients.forEach((c, i) => t.send(c, resolver, q(i))); // one key, chain 9 -> 8 -> 7
  t.send(resolver, c9, answer(q(2)));
  t.send(resolver, c7, answer(q(0))); // least recent now: 8
  t.send(newcomer(1), resolver, q(10)); // the cap ends 8, the chain's middle
  assert.deepEqual(evicted(), ['10.1.0.8:41000']);

  t.send(c9, resolver, q(3)); // least recent now: 7
  t.send(newcomer(2), resolver, q(11)); // ends 7, the chain's end (9 -> 7)
  assert.deepEqual(evicted(), ['10.1.0.8:41000'], 'an answered flow ends without a call');
  t.send(resolver, c9, answer(q(3))); // still found: paired, no new flow
  assert.equal(flowsMade(), 5);

  t.send(c8, resolver, q(4)); // a new flow, at the head (8 -> 9); the cap ends newcomer 1
  t.send(resolver, c9, answer(q(3))); // 9 is the most recent, then 8
  t.send(newcomer(3), resolver, q(12)); // ends newcomer 2
  t.send(newcomer(4), resolver, q(13)); // ends 8, the chain's head, with 9 after it
  assert.deepEqual(evicted(), ['10.1.0.8:41000', '10.2.0.1:42000', '10.2.0.2:42000', '10.1.0.8:41000']);
  t.send(c9, resolver, q(5));
  t.send(resolver, c9, answer(q(5)));
  assert.equal(flowsMade(), 8, 'every datagram of 9 found its flow');
  assert.equal(t.stats.get('engine.unclaimedDatagrams'), 0);
  assert.equal(t.stats.get('dns.unmatchedResponse'), 1, 'only the repeated answer to q3');
  t.end();
  assert.equal(t.flows.flowCount, 0);
  const answered = t.calls.filter((c) => c.call.response !== null).map((c) => `${c.client} ${c.call.summary}`);
  assert.deepEqual(answered, [2, 0, 3, 5].map((id) => `${id === 0 ? '10.1.0.7' : '10.1.0.9'}:41000 A q${id}.shop.svc.cluster.local -> no answers`));
});
