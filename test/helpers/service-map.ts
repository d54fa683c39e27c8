// Checks a service map (DOT) against the entries it was made from, with the map's rules
// (docs/service-map.md) written out again here, on their own: every address in one node, the
// edges exactly the caller/callee/protocol triples, calls adding up to the entries, errors and
// p50/p99 those of the entries. Used on captures and on the live shop.
import assert from 'node:assert/strict';
import type { Entry } from '../../src/entry.js';
import { edgeLabel, parseDot } from './dot.js';

// The rule the map documents (docs/service-map.md), written out again here on its own: an
// edge goes from src to dst; for Kafka and AMQP from the producer to the broker and from the
// broker to a consumer, set-up calls going with the client's role.
const FROM_BROKER = ['connection.start', 'connection.secure', 'connection.tune', 'connection.blocked', 'connection.unblocked', 'connection.update-secret', 'basic.deliver', 'basic.return'];
const EITHER = ['channel.close', 'connection.close', 'channel.flow', 'basic.cancel'];
export const CONSUMES = ['basic.consume', 'basic.deliver', 'basic.get', 'basic.ack', 'basic.nack', 'basic.reject', 'basic.recover', 'basic.recover-async', 'basic.cancel',
  'Fetch', 'ListOffsets', 'OffsetCommit', 'OffsetFetch', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup'];

type Node = (ip: string) => string;

function expectedEdges(entries: Entry[], node: Node): Map<string, Entry[]> {
  const edges = new Map<string, Entry[]>();
  const add = (from: string, to: string, protocol: string, e: Entry) => {
    const key = `${from} -> ${to} ${protocol}`;
    edges.set(key, [...(edges.get(key) ?? []), e]);
  };
  const brokers = new Set<string>();
  const ep = (e: Entry['src']) => `${e.ip}:${e.port}`;
  for (const e of entries) {
    const m = String(e.request.method);
    if (e.protocol === 'kafka' || (e.protocol === 'amqp' && !FROM_BROKER.includes(m) && !EITHER.includes(m))) brokers.add(ep(e.dst));
    if (e.protocol === 'amqp' && FROM_BROKER.includes(m)) brokers.add(ep(e.src));
  }
  // Per client and broker: what the client does.
  const roles = new Map<string, { produce: boolean; consume: boolean }>();
  const clientAndBroker = (e: Entry) => (brokers.has(ep(e.src)) ? [node(e.dst.ip), node(e.src.ip)] : [node(e.src.ip), node(e.dst.ip)]);
  const roleOf = (e: Entry) => {
    const what = String(e.protocol === 'kafka' ? e.request.apiKey : e.request.method);
    return what === 'Produce' || what === 'basic.publish' ? 'produce' : CONSUMES.includes(what) ? 'consume' : 'control';
  };
  for (const e of entries) {
    if (e.protocol !== 'kafka' && e.protocol !== 'amqp') continue;
    const key = `${clientAndBroker(e).join(' ')} ${e.protocol}`;
    const r = roles.get(key) ?? { produce: false, consume: false };
    if (roleOf(e) === 'produce') r.produce = true;
    if (roleOf(e) === 'consume') r.consume = true;
    roles.set(key, r);
  }
  for (const e of entries) {
    if (e.protocol !== 'kafka' && e.protocol !== 'amqp') {
      add(node(e.src.ip), node(e.dst.ip), e.protocol, e);
      continue;
    }
    const [client, broker] = clientAndBroker(e);
    const r = roles.get(`${client} ${broker} ${e.protocol}`)!;
    const towardsClient = roleOf(e) === 'consume' || (r.consume && !r.produce);
    if (towardsClient) add(broker!, client!, e.protocol, e);
    else add(client!, broker!, e.protocol, e);
  }
  return edges;
}

function failed(e: Entry): boolean {
  const q = e.request as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = e.response as Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (e.error !== undefined) return true;
  if (r === null) return false;
  const amqpBad = (x: Record<string, any>) => ['basic.nack', 'basic.reject', 'basic.return'].includes(x.method) || (['channel.close', 'connection.close'].includes(x.method) && x.replyCode !== 200); // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (e.protocol) {
    case 'http': return r.status >= 500;
    case 'grpc': return typeof r.grpcStatus === 'number' && r.grpcStatus !== 0;
    case 'redis': return typeof r.error === 'string';
    case 'kafka': return (r.errorCode ?? 0) !== 0 || [...(r.partitions ?? []), ...(r.topics ?? [])].some((p: { errorCode?: number }) => (p.errorCode ?? 0) !== 0);
    case 'amqp': return amqpBad(q) || amqpBad(r);
    case 'dns': return ['SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP'].includes(r.rcode);
    case 'tls': return r.alert !== undefined && r.alert !== null;
  }
}

function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** Checks a DOT map against the entries it was made from; returns the number of edges. */
export function assertMapOfEntries(dot: string, entries: Entry[], where: string): number {
  const map = parseDot(dot);
  // Every address belongs to exactly one node (its tooltip lists them).
  const nodeOfIp = new Map<string, string>();
  for (const n of map.nodes) {
    for (const ip of n.attrs.tooltip!.split(', ')) {
      assert.ok(!nodeOfIp.has(ip), `${where}: ${ip} is in two nodes, ${nodeOfIp.get(ip)} and ${n.id}`);
      nodeOfIp.set(ip, n.id);
    }
  }
  const node: Node = (ip) => {
    const id = nodeOfIp.get(ip);
    assert.ok(id, `${where}: no node for ${ip}`);
    return id;
  };
  const want = expectedEdges(entries, node);
  const got = new Map<string, ReturnType<typeof edgeLabel>>();
  for (const e of map.edges) {
    const label = edgeLabel(e.attrs.label!);
    const key = `${e.from} -> ${e.to} ${label.protocol}`;
    assert.ok(!got.has(key), `${where}: duplicate edge ${key}`);
    got.set(key, label);
  }
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${where}: edges`);
  let calls = 0;
  for (const [key, label] of got) {
    const mine = want.get(key)!;
    calls += label.calls;
    assert.equal(label.calls, mine.length, `${where}: ${key} calls`);
    assert.equal(label.errors, mine.filter(failed).length, `${where}: ${key} errors`);
    const latencies = mine.map((e) => e.elapsedMs).filter((v): v is number => v !== null);
    if (latencies.length === 0) {
      assert.equal(label.p50, null);
      continue;
    }
    for (const [q, shown] of [[0.5, label.p50], [0.99, label.p99]] as const) {
      const exact = nearestRank(latencies, q);
      // Within the histogram's 1%, plus the label's rounding (2 decimals below 10 ms, 1 below 100),
      // which follows the value shown: an estimate of 9.99 ms may be shown as 10.0.
      const rounding = (v: number) => (v < 10 ? 0.005 : v < 100 ? 0.05 : 0.5);
      const slack = exact * 0.01 + Math.max(rounding(exact), rounding(shown!)) + 1e-9;
      assert.ok(Math.abs(shown! - exact) <= slack, `${where}: ${key} p${q * 100} shown ${shown}, exact ${exact}`);
    }
  }
  assert.equal(calls, entries.length, `${where}: the edges' calls add up to the entries`);
  return got.size;
}

