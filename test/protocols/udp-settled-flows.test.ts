// A UDP flow whose parser has nothing outstanding (a DNS client's queries all answered)
// gives its parser up at once and keeps only its slot; its next datagram gets a new parser
// of the same dissector and orientation. These check that nothing a live parser would have
// reported is lost or changed by that: later queries on the pair, a stray duplicate
// response, a query the detector would not take as a flow's first, an unanswered query.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from '../../src/entry.js';
import type { Packet } from '../../src/decode/packet.js';
import { engineOptions } from '../../src/engine.js';
import { MemoryBudget } from '../../src/memory/budget.js';
import { CLAIMED_FLOW_COST, UDP_FLOW_COST, UdpFlows } from '../../src/protocols/udp-flows.js';
import { Stats } from '../../src/stats.js';
import { dnsNoAnswers as answer, dnsQuery } from '../hostile/transport-shapes.js';

const CLIENT = { ip: '10.1.0.7', port: 41000 };
const RESOLVER = { ip: '10.96.0.10', port: 53 };

function datagram(tsMicros: number, from: typeof CLIENT, to: typeof CLIENT, payload: Buffer): Packet {
  return { tsMicros, ipVersion: 4, srcIp: from.ip, dstIp: to.ip, transport: 'udp', srcPort: from.port, dstPort: to.port, seq: 0, ack: 0, flags: 0, payload };
}

function harness() {
  const stats = new Stats();
  const memory = new MemoryBudget(engineOptions({}).memoryBudget, stats);
  const calls: { call: Call; client: string }[] = [];
  const flows = new UdpFlows(engineOptions({}), stats, (call, client) => calls.push({ call, client: `${client.ip}:${client.port}` }), {}, memory);
  let ts = 1_700_000_000_000_000;
  const query = (q: Buffer) => flows.push(datagram((ts += 100), CLIENT, RESOLVER, q));
  const reply = (r: Buffer) => flows.push(datagram((ts += 100), RESOLVER, CLIENT, r));
  return { stats, memory, calls, flows, query, reply, end: () => flows.closeAll((ts += 100)) };
}

test('an answered lookup lets its parser go; the next lookup on the same pair is still paired', () => {
  const h = harness();
  const first = dnsQuery(0x1111, 'cart.shop.svc.cluster.local');
  h.query(first);
  assert.equal(h.memory.usedBy('udp.flows'), UDP_FLOW_COST + CLAIMED_FLOW_COST, 'a flow waiting for its answer holds its parser');
  h.reply(answer(first));
  assert.equal(h.flows.flowCount, 1, 'the flow keeps its slot');
  assert.equal(h.memory.usedBy('udp.flows'), UDP_FLOW_COST, 'settled: the parser is given up');
  assert.equal(h.memory.usedBy('dns.pending'), 0);

  const second = dnsQuery(0x2222, 'pay.shop.svc.cluster.local');
  h.query(second);
  h.reply(answer(second));
  h.end();
  assert.deepEqual(
    h.calls.map((c) => [c.call.summary, c.client, c.call.response === null]),
    [
      ['A cart.shop.svc.cluster.local -> no answers', '10.1.0.7:41000', false],
      ['A pay.shop.svc.cluster.local -> no answers', '10.1.0.7:41000', false],
    ],
  );
  assert.equal(h.stats.get('engine.flows.dns'), 1, 'one flow, however many parsers it had');
  assert.equal(h.memory.usedBy('udp.flows'), 0);
});

test('a stray duplicate response on a settled flow is an unmatched response, not a new flow', () => {
  const h = harness();
  const q = dnsQuery(0x3333, 'cart.shop.svc.cluster.local');
  h.query(q);
  h.reply(answer(q));
  h.reply(answer(q)); // the resolver answered twice
  const next = dnsQuery(0x4444, 'cart.shop.svc.cluster.local');
  h.query(next);
  h.reply(answer(next));
  h.end();
  assert.equal(h.stats.get('dns.unmatchedResponse'), 1);
  assert.equal(h.stats.get('engine.unclaimedDatagrams'), 0);
  assert.equal(h.calls.length, 2, 'the lookup after the duplicate is seen');
  assert.ok(h.calls.every((c) => c.client === '10.1.0.7:41000'), 'orientation kept: the resolver is never taken for the client');
});

test('a query with id 0, refused as a flow\'s first datagram, is taken on a settled DNS flow', () => {
  const h = harness();
  const q = dnsQuery(0x5555, 'cart.shop.svc.cluster.local');
  h.query(q);
  h.reply(answer(q));
  const zero = dnsQuery(0, 'pay.shop.svc.cluster.local');
  h.query(zero);
  h.reply(answer(zero));
  h.end();
  assert.deepEqual(h.calls.map((c) => (c.call.request as { id: number }).id), [0x5555, 0]);
});

test('a query still unanswered when the capture ends is reported without a response', () => {
  const h = harness();
  const q = dnsQuery(0x6666, 'cart.shop.svc.cluster.local');
  h.query(q);
  h.reply(answer(q));
  h.query(dnsQuery(0x7777, 'gone.shop.svc.cluster.local'));
  h.end();
  assert.equal(h.calls.length, 2);
  assert.equal(h.calls[1].call.response, null);
  assert.equal(h.calls[1].call.error, 'no response');
  assert.equal(h.memory.usedBy('udp.flows'), 0);
  assert.equal(h.memory.usedBy('dns.pending'), 0);
});
