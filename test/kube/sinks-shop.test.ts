// The sinks on the live shop (the simulated cluster, as a kubectl plugin): the service map
// against the call graph the shop's own counters report, OpenAPI documents a real validator
// accepts, and CI mode's exit codes on a live session, including a CI runner's SIGTERM during
// --wait-for, with the stack removed on every exit path. One cluster for the file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { down, up, type UpResult } from '../cluster/cluster.js';
import { hasKubectl, kubectl, waitFor } from '../cluster/kubectl.js';
import { repoRoot } from '../cluster/paths.js';
import { parseDot, edgeLabel } from '../helpers/dot.js';
import { assertValidEntries } from '../helpers/schema.js';
import { assertMapOfEntries } from '../helpers/service-map.js';
import { kubectlJson, ourObjects, startTap, stopTap, waitForLines } from './live.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root: the simulated cluster uses network namespaces' : !hasKubectl() ? 'needs kubectl on PATH' : undefined;
const dir = join(repoRoot, '.cluster', 'tests', 'sinks-shop');
let cluster: UpResult | undefined;
const kc = () => cluster!.kubeconfig;

/** Who calls whom in the shop, from shop.yaml's workloads and the counter each caller keeps of it. */
const CALL_GRAPH: Array<{ counter: [string, string]; edge: string }> = [
  { counter: ['loadgenerator', 'requests'], edge: 'loadgenerator -> frontend http' },
  { counter: ['frontend', 'catalog_calls'], edge: 'frontend -> catalog grpc' },
  { counter: ['frontend', 'cart_calls'], edge: 'frontend -> cart grpc' },
  { counter: ['frontend', 'checkout_calls'], edge: 'frontend -> checkout http' },
  { counter: ['frontend', 'rates_calls'], edge: 'frontend -> partner-rates http' },
  { counter: ['cart', 'redis_commands'], edge: 'cart -> redis redis' },
  // mutual TLS on the wire, captured in plaintext inside the payments pod (docs/mesh.md)
  { counter: ['checkout', 'payments_calls'], edge: 'checkout -> payments http' },
  { counter: ['checkout', 'kafka_messages'], edge: 'checkout -> kafka kafka' },
  { counter: ['checkout', 'shipments_published'], edge: 'checkout -> rabbitmq amqp' },
  { counter: ['shipping', 'shipments_consumed'], edge: 'rabbitmq -> shipping amqp' },
];

async function counters(): Promise<Record<string, Record<string, number>>> {
  const apps = [...new Set(CALL_GRAPH.map((c) => c.counter[0]))];
  const out: Record<string, Record<string, number>> = {};
  for (const app of apps) {
    const pod = (await kubectlJson(kc(), ['get', 'pods', '-n', 'shop', '-l', `app=${app}`])).items[0].metadata.name;
    const r = await kubectl(kc(), ['get', '--raw', `/api/v1/namespaces/shop/pods/${pod}:9100/proxy/metrics`]);
    assert.equal(r.code, 0, r.stderr);
    out[app] = JSON.parse(r.stdout).counters;
  }
  return out;
}

/** A whole session with --duration: exit code, entries, stderr. */
async function session(args: string[], timeoutMs = 150_000): Promise<{ code: number | string; entries: Json[]; stdout: string; stderr: string }> {
  const tap = startTap(kc(), args);
  const timer = setTimeout(() => tap.child.kill('SIGKILL'), timeoutMs);
  const code = await tap.exited;
  clearTimeout(timer);
  const stdout = tap.lines.join('\n');
  let entries: Json[] = [];
  try {
    entries = tap.lines.map((l) => JSON.parse(l));
  } catch {
    // not NDJSON (-o openapi, -o dot): the caller reads stdout
  }
  return { code, entries, stdout, stderr: tap.stderr() };
}

if (skipReason) {
  test('the sinks on the live shop', (t) => {
    console.error(`SKIPPED sinks-on-the-shop tests: ${skipReason}`);
    t.skip(skipReason);
  });
} else {
  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 2, shop: true });
    await waitFor('the shop ready', async () => {
      const pods = await kubectlJson(kc(), ['get', 'pods', '-n', 'shop']);
      const ready = pods.items.filter((p: Json) => p.status.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'));
      return pods.items.length >= 11 && ready.length === pods.items.length ? true : undefined;
    }, 90_000);
  }, { timeout: 150_000 });

  after(async () => {
    await down({ dir });
  }, { timeout: 60_000 });

  const work = mkdtempSync(join(tmpdir(), 'tap-shop-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  /** Filled by the first test: the graph the counters show and the one the map drew. */
  let expected = new Set<string>();
  let drawn = new Set<string>();

  test('the service map of the shop: the triples of its entries, no phantom edge, every node a workload; the SVG has every node and edge', { timeout: 200_000 }, async () => {
    const before = await counters();
    const mapFile = join(work, 'shop.dot');
    const s = await session(['-n', 'shop', '--duration', '25s', '--service-map', mapFile, '--summary-json', join(work, 's.json')]);
    const afterCounters = await counters();
    assert.equal(s.code, 0, s.stderr);
    assertValidEntries(s.entries.slice());
    assert.ok(s.entries.length > 50, `${s.entries.length} entries`);
    const dot = readFileSync(mapFile, 'utf8');
    assertMapOfEntries(dot, s.entries as never, 'the shop');
    const map = parseDot(dot);
    const label = new Map(map.nodes.map((n) => [n.id, n.attrs.label!]));
    // Nodes are workloads (never a ClusterIP beside the pod it leads to), grouped in shop.
    const clusterIps = new Set((await kubectlJson(kc(), ['get', 'svc', '-A'])).items.map((x: Json) => x.spec.clusterIP));
    for (const n of map.nodes) {
      assert.match(n.id, /^workload:(shop|kube-system)\//, `${n.id} is a workload`);
      for (const ip of n.attrs.tooltip!.split(', ')) assert.ok(!clusterIps.has(ip), `${n.id} stands for the ClusterIP ${ip}`);
    }
    drawn = new Set(map.edges.map((e) => `${label.get(e.from)} -> ${label.get(e.to)} ${edgeLabel(e.attrs.label!).protocol}`));
    expected = new Set(CALL_GRAPH.filter((c) => (afterCounters[c.counter[0]]![c.counter[1]] ?? 0) > (before[c.counter[0]]![c.counter[1]] ?? 0)).map((c) => c.edge));
    // DNS lookups to the cluster's DNS are calls too, not in the shop's counters.
    const phantom = [...drawn].filter((e) => !expected.has(e) && !/ -> [\w-]+ dns$/.test(e));
    assert.deepEqual(phantom, [], `edges the shop's counters do not show (drawn: ${[...drawn].join('; ')})`);
    assert.ok(['loadgenerator -> frontend http', 'frontend -> cart grpc', 'cart -> redis redis', 'checkout -> kafka kafka'].every((e) => drawn.has(e)), [...drawn].join('; '));

    const svgFile = join(work, 'shop.svg');
    const svg = await session(['-n', 'shop', '-q', '--duration', '10s', '--service-map', svgFile, '-o', 'dot']);
    assert.equal(svg.code, 0, svg.stderr);
    const fromStdout = parseDot(svg.stdout);
    const text = readFileSync(svgFile, 'utf8');
    for (const n of fromStdout.nodes) assert.ok(text.includes(`<title>${n.id.replace(/-/g, '&#45;')}</title>`), `node ${n.id} in the SVG`);
    assert.equal((text.match(/class="edge"/g) ?? []).length, fromStdout.edges.length);
  });

  // Most of these connections were opened before the session (checkout's keep-alive mTLS to
  // payments and its sidecar's upstream, the AMQP channels, the gRPC channels): they are
  // joined mid-stream, and must still be there, the right way round.
  test('the service map has every edge of the shop\'s call graph', () => {
    assert.equal(expected.size, CALL_GRAPH.length, `the shop's counters moved for ${[...expected].join('; ')}`);
    const missing = [...expected].filter((e) => !drawn.has(e));
    assert.deepEqual(missing, [], `drawn: ${[...drawn].join('; ')}`);
  });

  test('-o openapi on the shop: a document per HTTP service, valid OpenAPI 3.1, product ids templated', { timeout: 150_000 }, async () => {
    const s = await session(['-n', 'shop', '-q', '--duration', '20s', '-o', 'openapi']);
    assert.equal(s.code, 0, s.stderr);
    const docs: Json[] = s.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const validator = new Validator();
    for (const doc of docs) {
      const r = await validator.validate(doc);
      assert.ok(r.valid, `${doc.info.title}: ${String(JSON.stringify(r.errors)).slice(0, 500)}`);
    }
    const byTitle = new Map(docs.map((d) => [d.info.title, d]));
    assert.ok(byTitle.has('frontend') && byTitle.has('checkout'), [...byTitle.keys()].join(', '));
    const frontend = byTitle.get('frontend')!;
    assert.ok(frontend.paths['/product/{id}']?.get, Object.keys(frontend.paths).join(', '));
    assert.equal(Object.keys(frontend.paths).filter((p) => p.startsWith('/product/')).length, 1, 'one operation for every product');
    assert.ok(frontend.paths['/checkout']?.post.parameters.some((p: Json) => p.name === 'user' && p.in === 'query'));
    assert.ok(byTitle.get('checkout')!.paths['/orders']?.post['x-kubectl-tap-calls'] > 0);
  });

  test('CI mode live: --wait-for 0, never 3, --fail-on 4, --limit N; the stack removed after each', { timeout: 400_000 }, async () => {
    const hit = await session(['-n', 'shop', '-q', '--duration', '90s', '--wait-for', 'request.path = "/checkout" and response.status = 200']);
    assert.equal(hit.code, 0, hit.stderr);
    assert.equal(hit.entries.at(-1)!.request.path.split('?')[0], '/checkout');
    assert.deepEqual(await ourObjects(kc()), []);
    const miss = await session(['-n', 'shop', '--duration', '8s', '--wait-for', 'request.path = "/never-called"', '--summary-json', join(work, 'miss.json')]);
    assert.equal(miss.code, 3, miss.stderr);
    assert.match(miss.stderr, /--wait-for never matched \(session ended: duration\)/);
    assert.deepEqual(JSON.parse(readFileSync(join(work, 'miss.json'), 'utf8')).outcome, { verdict: 'waitForUnmatched', reason: 'duration', exitCode: 3 });
    assert.deepEqual(await ourObjects(kc()), []);
    const fail = await session(['-n', 'shop', '-q', '--duration', '90s', '--fail-on', 'dst.workload = "deployment/partner-rates"']);
    assert.equal(fail.code, 4, fail.stderr);
    assert.equal(fail.entries.at(-1)!.dst.workload, 'deployment/partner-rates');
    assert.deepEqual(await ourObjects(kc()), []);
    const limit = await session(['-n', 'shop', '-q', '--duration', '90s', '--limit', '7']);
    assert.equal(limit.code, 0, limit.stderr);
    assert.equal(limit.entries.length, 7);
    assert.deepEqual(await ourObjects(kc()), []);
  });

  test('a CI runner\'s SIGTERM during --wait-for: exit 3, the summary written, the stack removed', { timeout: 200_000 }, async () => {
    const summary = join(work, 'term.json');
    const tap = startTap(kc(), ['-n', 'shop', '--wait-for', 'request.path = "/never-called"', '--summary-json', summary]);
    await waitForLines(tap, 'a few entries', (lines) => lines.length >= 5, 120_000);
    const code = await stopTap(tap, 'SIGTERM');
    assert.equal(code, 3, tap.stderr());
    assert.match(tap.stderr(), /--wait-for never matched \(session ended: signal\)/);
    assert.equal(JSON.parse(readFileSync(summary, 'utf8')).outcome.exitCode, 3);
    assert.deepEqual(await ourObjects(kc()), [], 'nothing of ours after SIGTERM');
  });

  test('docs/ci.md\'s smoke script against the simulated cluster passes, and shows in docs/ci.md as it is', { timeout: 200_000 }, async () => {
    const script = join(repoRoot, 'scripts/ci-smoke-cluster.sh');
    assert.ok(readFileSync(join(repoRoot, 'docs/ci.md'), 'utf8').includes(readFileSync(script, 'utf8').trimEnd()), 'docs/ci.md shows the script');
    const cwd = mkdtempSync(join(work, 'smoke-'));
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', [script, 'shop'], { cwd, env: { ...process.env, KUBECONFIG: kc(), PATH: `${join(repoRoot, 'dist')}:${process.env.PATH}` } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^smoke test passed: POST \/checkout\?user=user-\d -> 200$/m);
    assert.ok(readFileSync(join(cwd, 'smoke-map.svg'), 'utf8').includes('<svg'));
    assert.deepEqual(await ourObjects(kc()), []);
  });
}
