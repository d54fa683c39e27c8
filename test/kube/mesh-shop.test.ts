// Mesh capture on the live shop (docs/mesh.md): payments runs an Istio-style istio-proxy
// sidecar that terminates checkout's mutual TLS and forwards plaintext to the app over the
// pod's loopback. With the tapper image as a podman container: under the default --mesh auto
// checkout's calls appear in plaintext, named checkout -> payments, each order's charge once
// and no TLS copy; only payments is entered; --mesh off shows the TLS leg only; a tapper
// without SYS_ADMIN says so in one line and still captures the node's traffic. One cluster
// for the file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { down, up, type UpResult } from '../cluster/cluster.js';
import { hasKubectl, kubectl, waitFor } from '../cluster/kubectl.js';
import { repoRoot } from '../cluster/paths.js';
import { runCli } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';
import { kubectlJson, ourObjects, startTap, stopTap, tapperStats, waitForLines, type LiveTap } from './live.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root: the simulated cluster uses network namespaces' : !hasKubectl() ? 'needs kubectl on PATH' : undefined;
const dir = join(repoRoot, '.cluster', 'tests', 'mesh-shop');
let cluster: UpResult | undefined;
const kc = () => cluster!.kubeconfig;
const k = (args: string[], opts: { input?: string } = {}) => kubectl(kc(), args, opts);
const entriesOf = (tap: LiveTap): Json[] => tap.lines.map((l) => JSON.parse(l));

async function pod(app: string): Promise<Json> {
  return (await kubectlJson(kc(), ['get', 'pods', '-n', 'shop', '-l', `app=${app}`])).items[0];
}

async function counters(app: string): Promise<Record<string, number>> {
  const r = await k(['get', '--raw', `/api/v1/namespaces/shop/pods/${(await pod(app)).metadata.name}:9100/proxy/metrics`]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).counters;
}

const isCharge = (e: Json) => e.protocol === 'http' && e.request.path === '/charge';
const toPayments = (e: Json) => e.dst.workload === 'deployment/payments';

if (skipReason) {
  test('mesh capture on the live shop', (t) => {
    console.error(`SKIPPED mesh capture tests: ${skipReason}`);
    t.skip(skipReason);
  });
} else {
  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 2, shop: true });
    // Ready pods are not yet a flowing shop: wait for orders to reach payments.
    await waitFor('payments charging', async () => ((await counters('payments').catch(() => ({}) as Record<string, number>)).charges ?? 0) > 0 || undefined, 180_000, 1000);
  }, { timeout: 240_000 });

  after(async () => {
    await down({ dir });
  }, { timeout: 60_000 });

  test('--mesh auto (the default): checkout -> payments in plaintext, named, each order charged once, no TLS copy; only the sidecar pod is entered', { timeout: 240_000 }, async () => {
    const before = await counters('payments');
    const started = Date.now();
    const tap = startTap(kc(), ['-n', 'shop']);
    let stats: Json[];
    try {
      await waitForLines(tap, 'eight plaintext charges', (lines) => lines.filter((l) => l.includes('"path":"/charge"')).length >= 8, 150_000);
      console.error(`mesh auto: eight charges after ${Math.round((Date.now() - started) / 1000)} s`);
      stats = await tapperStats(kc());
      const ds = await kubectlJson(kc(), ['get', 'daemonset', '-n', 'kubectl-tap', 'kubectl-tap-tapper']);
      assert.deepEqual(ds.spec.template.spec.containers[0].securityContext.capabilities.add, ['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE']);
    } finally {
      assert.equal(await stopTap(tap), 0, tap.stderr());
    }
    const afterCounters = await counters('payments');
    const entries = entriesOf(tap);
    assertValidEntries([...entries]);

    const payments = await pod('payments');
    const charges = entries.filter(isCharge);
    for (const e of charges) {
      assert.equal(e.src.workload, 'deployment/checkout', JSON.stringify(e.src));
      assert.equal(e.dst.workload, 'deployment/payments', JSON.stringify(e.dst));
      assert.equal(e.dst.ip, payments.status.podIP);
      assert.equal(e.request.method, 'POST');
      assert.equal(e.response.status, 200);
      assert.match(e.request.body, /"user":"user-\d"/);
      assert.deepEqual(JSON.parse(e.response.body), { charged: true, bytes: e.request.bodySize });
      assert.equal(e.mesh.sidecar, 'istio');
      assert.deepEqual([e.mesh.loopback.src.ip, e.mesh.loopback.dst.ip, e.mesh.loopback.dst.port], ['127.0.0.1', '127.0.0.1', 8080]);
      assert.deepEqual(e.mesh.tls.src, { ip: e.src.ip, port: e.src.port });
      assert.deepEqual(e.mesh.tls.dst, { ip: payments.status.podIP, port: 8443 });
    }
    // Once each: every charge is one order's (its id), no id twice, never more than payments counted.
    const ids = charges.map((e) => JSON.parse(e.request.body).id);
    assert.equal(new Set(ids).size, ids.length, 'no charge reported twice');
    const charged = afterCounters.charges! - (before.charges ?? 0);
    assert.ok(charges.length >= 8 && charges.length <= charged, `${charges.length} charge entries, ${charged} charges counted by payments`);
    // ... and none lost: each order checkout answered in the middle of the window has its charge.
    const orders = entries.filter((e) => e.protocol === 'http' && e.request.path === '/orders' && e.response?.status === 200).sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    const middle = orders.slice(1, -1);
    assert.ok(middle.length >= 5, `${middle.length} orders in the middle of the window`);
    for (const o of middle) assert.ok(ids.includes(JSON.parse(o.response.body).orderId), `the charge of order ${o.response.body}`);
    // The mTLS leg is not a second call.
    assert.deepEqual(entries.filter((e) => e.protocol === 'tls' && toPayments(e)).map((e) => e.summary), []);

    // Only payments (the pod with a sidecar) was entered, by the tapper of its node.
    const byNode = new Map(stats!.map((s) => [s.node, s]));
    assert.deepEqual(byNode.get(payments.spec.nodeName)!.mesh.entered.map((p: Json) => p.name), [payments.metadata.name]);
    for (const s of stats!) {
      if (s.node !== payments.spec.nodeName) assert.deepEqual(s.mesh.entered, [], s.node);
      assert.equal(s.mesh.unavailable, null);
    }
    const paymentsNode = byNode.get(payments.spec.nodeName)!;
    assert.ok(paymentsNode.engine['mesh.callerMatched'] >= 1, JSON.stringify(paymentsNode.engine));
    assert.equal(paymentsNode.engine['mesh.callerUnknown'] ?? 0, 0);
  });

  test('--mesh off: no pod entered, no SYS_ADMIN or SYS_PTRACE, checkout -> payments only as TLS', { timeout: 200_000 }, async () => {
    const tap = startTap(kc(), ['-n', 'shop', '--mesh', 'off']);
    let stats: Json[];
    try {
      await waitForLines(tap, 'five TLS exchanges with payments', (lines) => lines.map((l) => JSON.parse(l)).filter((e) => e.protocol === 'tls' && toPayments(e)).length >= 5, 120_000);
      stats = await tapperStats(kc());
      const ds = await kubectlJson(kc(), ['get', 'daemonset', '-n', 'kubectl-tap', 'kubectl-tap-tapper']);
      assert.deepEqual(ds.spec.template.spec.containers[0].securityContext.capabilities.add, ['NET_RAW', 'NET_ADMIN']);
    } finally {
      assert.equal(await stopTap(tap), 0, tap.stderr());
    }
    const entries = entriesOf(tap);
    assertValidEntries([...entries]);
    assert.deepEqual(entries.filter(isCharge), []);
    const tls = entries.filter((e) => toPayments(e));
    assert.ok(tls.length >= 5);
    for (const e of tls) {
      assert.equal(e.protocol, 'tls', e.summary);
      assert.equal(e.src.workload, 'deployment/checkout');
      assert.equal(e.mesh, undefined);
    }
    for (const s of stats!) assert.deepEqual(s.mesh.entered, [], s.node);
  });

  test('a tapper without SYS_ADMIN under mesh capture says so in one line and still captures the node traffic', { timeout: 200_000 }, async () => {
    // An admin pre-installed the stack with SYS_ADMIN taken out of the capabilities.
    const objects = (yaml.loadAll as (s: string) => Json[])((await runCli(['manifests'])).stdout).filter(Boolean);
    const container = objects.find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0];
    container.securityContext.capabilities.add = container.securityContext.capabilities.add.filter((c: string) => c !== 'SYS_ADMIN');
    const apply = await k(['apply', '-f', '-'], { input: objects.map((o) => yaml.dump(o)).join('---\n') });
    assert.equal(apply.code, 0, apply.stderr);
    try {
      await waitFor('the pre-installed tappers ready', async () => ((await kubectlJson(kc(), ['get', 'daemonset', '-n', 'kubectl-tap', 'kubectl-tap-tapper'])).status?.numberReady === 2 ? true : undefined), 60_000);
      const payments = await pod('payments');
      const tap = startTap(kc(), ['-n', 'shop', '--use-installed']);
      let stats: Json[];
      try {
        await waitForLines(tap, 'TLS exchanges with payments and plain HTTP elsewhere', (lines) => {
          const entries = lines.map((l) => JSON.parse(l));
          return entries.filter((e) => e.protocol === 'tls' && toPayments(e)).length >= 3 && entries.some((e) => e.protocol === 'http' && e.src.workload === 'deployment/loadgenerator');
        }, 120_000);
        stats = await tapperStats(kc());
      } finally {
        assert.equal(await stopTap(tap), 0, tap.stderr());
      }
      assert.deepEqual(entriesOf(tap).filter(isCharge), []);
      const tappers = (await kubectlJson(kc(), ['get', 'pods', '-n', 'kubectl-tap', '-l', 'app.kubernetes.io/component=tapper'])).items;
      const tapper = tappers.find((p: Json) => p.spec.nodeName === payments.spec.nodeName);
      const logs = await k(['logs', '-n', 'kubectl-tap', tapper.metadata.name]);
      const said = logs.stdout.split('\n').filter((l) => /mesh/.test(l));
      assert.equal(said.length, 1, logs.stdout);
      assert.match(said[0]!, /^tapper: mesh capture unavailable: cannot enter pod network namespaces \(entering \/host\/proc\/\d+\/ns\/net: Operation not permitted: the tapper needs SYS_ADMIN and SYS_PTRACE\); capturing node traffic only/);
      const own = stats!.find((s) => s.node === payments.spec.nodeName)!;
      assert.match(own.mesh.unavailable, /Operation not permitted/);
      assert.deepEqual(own.mesh.entered, []);
    } finally {
      const clean = await runCli(['clean', '--all', '--kubeconfig', kc()], { timeoutMs: 90_000 });
      assert.equal(clean.code, 0, clean.stderr);
    }
    assert.deepEqual(await ourObjects(kc()), []);
  });

  test('--dry-run and manifests agree on the capabilities --mesh asks for', async () => {
    const caps = async (args: string[]) => {
      const r = await runCli(args[0] === 'manifests' ? args : [...args, '--kubeconfig', kc()]);
      assert.equal(r.code, 0, r.stderr);
      const ds = (yaml.loadAll as (s: string) => Json[])(r.stdout).find((o) => o?.kind === 'DaemonSet')!;
      return ds.spec.template.spec.containers[0].securityContext.capabilities.add;
    };
    const meshCaps = ['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'];
    assert.deepEqual(await caps(['-n', 'shop', '--dry-run']), meshCaps);
    assert.deepEqual(await caps(['manifests']), meshCaps);
    assert.deepEqual(await caps(['-n', 'shop', '--dry-run', '--mesh', 'on']), meshCaps);
    assert.deepEqual(await caps(['-n', 'shop', '--dry-run', '--mesh', 'off']), ['NET_RAW', 'NET_ADMIN']);
    assert.deepEqual(await caps(['manifests', '--mesh', 'off']), ['NET_RAW', 'NET_ADMIN']);
    assert.deepEqual(await ourObjects(kc()), []);
  });
}
