// The service map is right, provably: on every capture in testdata/, the edges of the map
// (read back from the DOT file with a real parser) are the caller/callee/protocol triples of
// the entries it was made from, in the same run, their counts add up to the entries, their
// error counts and latencies are those of the entries; the SVG has every node and edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { Entry } from '../../src/entry.js';
import { toDot } from '../../src/sink/dot.js';
import { EdgeTable } from '../../src/sink/edges.js';
import { serviceGraph } from '../../src/sink/service-map.js';
import { runCli, repoRoot } from '../helpers/cli.js';
import { edgeLabel, parseDot } from '../helpers/dot.js';
import { assertMapOfEntries, CONSUMES } from '../helpers/service-map.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

function captures(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return captures(path);
    return /\.pcap(ng)?$/.test(name) ? [path] : [];
  });
}

test('on every capture in testdata/, the map equals the caller/callee/protocol triples of its entries', async () => {
  const files = captures(join(repoRoot, 'testdata'));
  assert.ok(files.length >= 40, `${files.length} captures`);
  let edges = 0;
  let total = 0;
  for (const file of files) {
    const where = relative(repoRoot, file);
    const { entries } = await entriesFromCapture(file);
    assertValidEntries(entries);
    edges += assertMapOfEntries(mapOf(entries).dot, entries, where);
    total += entries.length;
  }
  assert.ok(total > 1000 && edges > 40, `${total} entries on ${edges} edges`);
});

test('`read --service-map FILE` writes the map of the entries of the same run (filtered ones left out)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-map-'));
  try {
    for (const [capture, filter] of [['testdata/http1/ethernet-mixed.pcap', 'true'], ['testdata/mixed/mixed.pcap', 'protocol != "redis"'], ['testdata/kafka/groups.pcap', 'true'], ['testdata/amqp/session.pcap', 'true'], ['testdata/grpc/calls.pcap', 'true']] as const) {
      const mapFile = join(dir, 'map.dot');
      const r = await runCli(['read', join(repoRoot, capture), '-q', '--service-map', mapFile, '-f', filter]);
      assert.equal(r.code, 0, r.stderr);
      const entries: unknown[] = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assertValidEntries(entries);
      assert.ok(entries.length > 0);
      assertMapOfEntries(readFileSync(mapFile, 'utf8'), entries, capture);
      assert.deepEqual(readdirSync(dir), ['map.dot'], 'written atomically: no temporary file left');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Entries with the names the cluster's resolver would give them: here, by the client's id and the broker's port. */
function named(entries: Entry[], nameOf: (e: Entry['src'], entry: Entry) => string | undefined): Entry[] {
  return entries.map((e) => {
    const copy = structuredClone(e);
    for (const end of [copy.src, copy.dst]) {
      const name = nameOf(end, e);
      if (name) Object.assign(end, { name: `${name}-7c9d`, namespace: 'shop', kind: 'pod', workload: `deployment/${name}` });
    }
    return copy;
  });
}

function mapOf(entries: Entry[]): { dot: string; edges: Map<string, ReturnType<typeof edgeLabel>> } {
  const table = new EdgeTable();
  for (const e of entries) table.add(e);
  const dot = toDot(serviceGraph(table));
  const edges = new Map(parseDot(dot).edges.map((e) => {
    const l = edgeLabel(e.attrs.label!);
    return [`${e.from} -> ${e.to} ${l.protocol}`, l];
  }));
  return { dot, edges };
}

test('brokers: producer -> broker and broker -> consumer, set-up calls with the client, a broker\'s channel.close never reversed', async () => {
  // Kafka: shop-orders only produces; rdkafka produces once and consumes (Fetch, ListOffsets).
  const kafka = named((await entriesFromCapture(join(repoRoot, 'testdata/kafka/clients.pcap'))).entries, (end, e) =>
    end.port === 19092 ? 'kafka' : String(e.request.clientId));
  const k = mapOf(kafka);
  assert.deepEqual([...k.edges.keys()].sort(), [
    'workload:shop/deployment/kafka -> workload:shop/deployment/rdkafka kafka',
    'workload:shop/deployment/rdkafka -> workload:shop/deployment/kafka kafka',
    'workload:shop/deployment/shop-orders -> workload:shop/deployment/kafka kafka',
  ]);
  assert.equal(k.edges.get('workload:shop/deployment/kafka -> workload:shop/deployment/rdkafka kafka')!.calls, 4, 'Fetch x3 and ListOffsets');
  assert.equal(k.edges.get('workload:shop/deployment/shop-orders -> workload:shop/deployment/kafka kafka')!.calls, 4);
  // AMQP: one connection publishes and consumes; the broker's own methods (connection.start,
  // basic.deliver, a channel.close after a 404) are counted on the client's edges, not reversed.
  const { entries } = await entriesFromCapture(join(repoRoot, 'testdata/amqp/session.pcap'));
  const brokerPort = entries.find((e) => e.request.method === 'basic.publish')!.dst.port;
  const amqp = mapOf(named(entries, (end) => (end.port === brokerPort ? 'rabbitmq' : 'orders')));
  const consumeCalls = entries.filter((e) => CONSUMES.includes(String(e.request.method))).length;
  assert.deepEqual([...amqp.edges.keys()].sort(), ['workload:shop/deployment/orders -> workload:shop/deployment/rabbitmq amqp', 'workload:shop/deployment/rabbitmq -> workload:shop/deployment/orders amqp']);
  assert.equal(amqp.edges.get('workload:shop/deployment/rabbitmq -> workload:shop/deployment/orders amqp')!.calls, consumeCalls);
  assert.equal(amqp.edges.get('workload:shop/deployment/orders -> workload:shop/deployment/rabbitmq amqp')!.calls, entries.length - consumeCalls);
  assert.ok(entries.some((e) => e.request.method === 'channel.close' && e.src.port === brokerPort), 'the capture has a broker-sent channel.close');
  // A consumer that never publishes: all its calls on broker -> consumer, none the other way.
  const consumerOnly = mapOf(named(entries.filter((e) => e.request.method !== 'basic.publish'), (end) => (end.port === brokerPort ? 'rabbitmq' : 'shipping')));
  assert.deepEqual([...consumerOnly.edges.keys()], ['workload:shop/deployment/rabbitmq -> workload:shop/deployment/shipping amqp']);
  // Nodes are grouped by namespace.
  assert.ok(parseDot(amqp.dot).nodes.every((n) => n.cluster === 'shop'));
});

test('external names: an address is named by the DNS answer that gave it, else by TLS SNI', async () => {
  // mixed.pcap's DNS server answered api.shop.example = 10.0.0.5; here the client then calls
  // that address (entries moved to it, as a capture of the real call would show).
  const { entries } = await entriesFromCapture(join(repoRoot, 'testdata/mixed/mixed.pcap'));
  const moved = entries.map((e) => (e.protocol === 'http' || e.protocol === 'tls' ? { ...e, dst: { ...e.dst, ip: '10.0.0.5' } } : e));
  const nodes = parseDot(mapOf(moved).dot).nodes;
  // Two names were answered for 10.0.0.5: the latest answer names it.
  const latest = entries.filter((e) => e.protocol === 'dns').at(-1)!;
  const name = String((latest.request.questions as Array<{ name: string }>)[0]!.name);
  const named = nodes.find((n) => n.id === `external:${name}`);
  assert.ok(named && named.attrs.label === name && named.attrs.shape === 'cds' && named.attrs.tooltip === '10.0.0.5', JSON.stringify(nodes));
  assert.ok(!nodes.some((n) => n.attrs.label === 'mixed.shop.example'), 'the DNS name wins over the SNI for the same address');
  // Without a DNS answer for it, the TLS client's server name names the address.
  const sni = String(entries.find((e) => e.protocol === 'tls')!.request.sni);
  assert.ok(parseDot(mapOf(entries).dot).nodes.some((n) => n.attrs.label === sni && n.attrs.tooltip === '127.0.0.1'));
});

test('the SVG has every node and edge of the DOT, with their labels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-svg-'));
  try {
    for (const capture of ['testdata/mixed/mixed.pcap', 'testdata/http1/ethernet-mixed.pcap', 'testdata/grpc/calls.pcap', 'testdata/amqp/session.pcap']) {
      const r = await runCli(['read', join(repoRoot, capture), '-q', '--service-map', join(dir, 'm.dot'), '-o', 'ndjson']);
      assert.equal(r.code, 0, r.stderr);
      const svgRun = await runCli(['read', join(repoRoot, capture), '-q', '--service-map', join(dir, 'm.svg'), '-o', 'dot']);
      assert.equal(svgRun.code, 0, svgRun.stderr);
      const dot = parseDot(readFileSync(join(dir, 'm.dot'), 'utf8'));
      assert.deepEqual(parseDot(svgRun.stdout).edges.length, dot.edges.length, '-o dot prints the same map');
      const svg = new XMLParser({ ignoreAttributes: false, htmlEntities: true, isArray: (name) => name === 'g' || name === 'text' }).parse(readFileSync(join(dir, 'm.svg'), 'utf8'));
      const groups: Array<Record<string, any>> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
      const walk = (g: Array<Record<string, unknown>> | undefined) => {
        for (const x of g ?? []) {
          groups.push(x);
          walk(x.g as Array<Record<string, unknown>> | undefined);
        }
      };
      walk(svg.svg.g);
      const titles = (cls: string) => groups.filter((g) => g['@_class'] === cls).map((g) => String(g.title));
      assert.deepEqual(titles('node').sort(), dot.nodes.map((n) => n.id).sort(), `${capture}: nodes`);
      assert.deepEqual(titles('edge').sort(), dot.edges.map((e) => `${e.from}->${e.to}`).sort(), `${capture}: edges`);
      const texts = groups.filter((g) => g['@_class'] === 'edge').flatMap((g) => (g.text ?? []).map((t: Record<string, unknown>) => String(t['#text'])));
      assert.equal(texts.length, dot.edges.length * 3, `${capture}: three label lines an edge`);
      for (const e of dot.edges) for (const line of e.attrs.label!.split('\n')) assert.ok(texts.includes(line), `${capture}: label line ${line} in the SVG (${texts.slice(0, 6).join(' | ')})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
