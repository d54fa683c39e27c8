// The simulated cluster against the real kubectl: discovery, get/list with server-side
// tables, describe, apply/delete of YAML, namespace termination, pods/proxy, RBAC for the
// limited users, Status errors, the DaemonSet controller, restart policies, and the shop's
// traffic flowing (counted by the shop's own servers). One cluster for the whole file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { up, down, type UpResult } from './cluster.js';
import { names, repoRoot } from './paths.js';
import { kubectlFor, hasKubectl, waitFor } from './kubectl.js';
import { listNetns } from './net/plumbing.js';
import { run } from './exec.js';

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root: network namespaces, veths and iptables' : !hasKubectl() ? 'needs kubectl on PATH' : undefined;
const dir = join(repoRoot, '.cluster', 'tests', 'cluster-test');
let cluster: UpResult | undefined;

const { k, json } = kubectlFor(() => cluster!.kubeconfig);

async function shopMetrics(app: string, port = 9100): Promise<Record<string, number>> {
  const pods = await json(['get', 'pods', '-n', 'shop', '-l', `app=${app}`]);
  const pod = pods.items[0]?.metadata.name;
  if (!pod) return {};
  const r = await k(['get', '--raw', `/api/v1/namespaces/shop/pods/${pod}:${port}/proxy/metrics`]);
  if (r.code !== 0) return {};
  return JSON.parse(r.stdout).counters;
}

if (skipReason) {
  test('simulated cluster', (t) => {
    console.error(`SKIPPED simulated cluster tests: ${skipReason}`);
    t.skip(skipReason);
  });
} else {
  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 2, shop: true });
    console.error(`cluster up in ${cluster.seconds.toFixed(1)} s`);
  }, { timeout: 240_000 });

  after(async () => {
    await down({ dir });
  }, { timeout: 60_000 });

  test('kubectl version talks to the stand-in', async () => {
    const r = await k(['version', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).serverVersion.gitVersion, 'v1.30.0-tap');
  });

  test('get nodes: two Ready nodes with internal IPs', async () => {
    const r = await k(['get', 'nodes', '-o', 'wide']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP/);
    assert.equal(lines.length, 3);
    for (const line of lines.slice(1)) assert.match(line, /^tap-node-\d\s+Ready\s+.*10\.243\.0\.\d/);
  });

  test('the shop comes up on both nodes and get pods -A -o wide shows IP and NODE', { timeout: 90_000 }, async () => {
    await waitFor('all shop pods ready', async () => {
      const pods = await json(['get', 'pods', '-n', 'shop']);
      const ready = pods.items.filter((p: any) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return pods.items.length >= 11 && ready.length === pods.items.length ? true : undefined;
    }, 60_000);
    const r = await k(['get', 'pods', '-A', '-o', 'wide']);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trim().split('\n');
    assert.match(header!, /NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    const shopRows = rows.filter((l) => l.startsWith('shop '));
    assert.ok(shopRows.length >= 11, r.stdout);
    for (const row of shopRows) assert.match(row, /Running\s+\d+\s+\S+\s+10\.244\.\d+\.\d+\s+tap-node-\d/);
    const nodesUsed = new Set(shopRows.map((l) => /tap-node-\d/.exec(l)![0]));
    assert.equal(nodesUsed.size, 2, 'shop pods spread over both nodes');
  });

  test('get svc,endpointslices: ClusterIPs allocated and slices follow the pods', async () => {
    const r = await k(['get', 'svc,endpointslices', '-n', 'shop']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /service\/frontend\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/);
    assert.match(r.stdout, /endpointslice\.discovery\.k8s\.io\/frontend-\w+\s+IPv4\s+8080\s+10\.244\.\d+\.\d+/);
    const pod = (await json(['get', 'pods', '-n', 'shop', '-l', 'app=frontend'])).items[0];
    const slices = await json(['get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=frontend']);
    assert.deepEqual(slices.items[0].endpoints.map((e: any) => e.addresses[0]), [pod.status.podIP]);
    assert.equal(slices.items[0].endpoints[0].targetRef.name, pod.metadata.name);
  });

  test('describe pod shows node, IP, containers and events', async () => {
    const pod = (await json(['get', 'pods', '-n', 'shop', '-l', 'app=payments'])).items[0];
    const r = await k(['describe', 'pod', '-n', 'shop', pod.metadata.name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Node:\\s+${pod.spec.nodeName}/10\\.243\\.0\\.\\d`));
    assert.match(r.stdout, new RegExp(`IP:\\s+${pod.status.podIP.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /istio-proxy:/);
    assert.match(r.stdout, /Controlled By:\s+ReplicaSet\/payments-/);
    assert.match(r.stdout, /Scheduled .* Successfully assigned shop\//);
  });

  test('apply -f and delete -f of YAML', { timeout: 60_000 }, async () => {
    const file = join(dir, 'web.yaml');
    const manifest = (greeting: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: dev}
data: {greeting: ${greeting}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dev}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: debian:12
        command: [python3, -m, http.server, "8080"]
        env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: web-config, key: greeting}}}]
        ports: [{containerPort: 8080}]
`;
    writeFileSync(file, manifest('hello'));
    let r = await k(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap\/web-config created/);
    assert.match(r.stdout, /deployment\.apps\/web created/);
    writeFileSync(file, manifest('bonjour'));
    r = await k(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap\/web-config configured/);
    assert.match(r.stdout, /deployment\.apps\/web unchanged/);
    assert.equal((await json(['get', 'cm', '-n', 'dev', 'web-config'])).data.greeting, 'bonjour');
    const rs = await waitFor('web pods running', async () => {
      const pods = await json(['get', 'pods', '-n', 'dev', '-l', 'app=web']);
      return pods.items.length === 2 && pods.items.every((p: any) => p.status.phase === 'Running') ? pods : undefined;
    });
    assert.equal(rs.items[0].metadata.ownerReferences[0].kind, 'ReplicaSet');
    r = await k(['delete', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('web pods gone', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'app=web'])).items.length === 0 ? true : undefined));
    r = await k(['get', 'deployment', '-n', 'dev', 'web']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NotFound|not found/);
  });

  test('delete ns passes through Terminating, then the namespace is gone', { timeout: 40_000 }, async () => {
    assert.equal((await k(['create', 'ns', 'doomed'])).code, 0);
    assert.equal((await k(['create', 'configmap', 'x', '-n', 'doomed', '--from-literal=a=b'])).code, 0);
    const r = await k(['delete', 'ns', 'doomed', '--wait=false']);
    assert.equal(r.code, 0, r.stderr);
    const phase = await k(['get', 'ns', 'doomed', '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase.stdout, 'Terminating');
    const create = await k(['create', 'configmap', 'y', '-n', 'doomed', '--from-literal=a=b']);
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /because it is being terminated/);
    await waitFor('namespace removed', async () => ((await k(['get', 'ns', 'doomed'])).code !== 0 ? true : undefined), 20_000);
  });

  test('get --raw through pods/NAME:PORT/proxy reaches the pod', async () => {
    const pod = (await json(['get', 'pods', '-n', 'shop', '-l', 'app=frontend'])).items[0].metadata.name;
    const r = await k(['get', '--raw', `/api/v1/namespaces/shop/pods/${pod}:8080/proxy/product/OLJCESPC7Z`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).name, 'Sunglasses');
    const metrics = await k(['get', '--raw', `/api/v1/namespaces/shop/pods/http:${pod}:admin/proxy/metrics`]);
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.equal(JSON.parse(metrics.stdout).pod, pod);
    const svc = await k(['get', '--raw', '/api/v1/namespaces/shop/services/frontend:http/proxy/product/66VCHSJNUP']);
    assert.equal(JSON.parse(svc.stdout).name, 'Tank Top');
  });

  test('auth can-i answers per user', async () => {
    const ask = async (context: string, args: string[]) => (await k(['auth', 'can-i', ...args], { context })).stdout.trim();
    assert.equal(await ask('tap', ['delete', 'nodes']), 'yes');
    assert.equal(await ask('tap-dev', ['create', 'pods', '-n', 'dev']), 'yes');
    assert.equal(await ask('tap-dev', ['create', 'pods', '-n', 'shop']), 'no');
    assert.equal(await ask('tap-viewer', ['list', 'pods', '-A']), 'yes');
    assert.equal(await ask('tap-viewer', ['get', 'pods', '--subresource=proxy', '-n', 'shop']), 'no');
    assert.equal(await ask('tap-viewer', ['get', 'secrets', '-n', 'shop']), 'no');
  });

  test('limited users get Forbidden where a real cluster forbids', async () => {
    let r = await k(['get', 'pods', '-n', 'shop'], { context: 'tap-dev' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Forbidden.*User "dev" cannot list resource "pods" in API group "" in the namespace "shop"/);
    r = await k(['create', 'configmap', 'mine', '--from-literal=a=b'], { context: 'tap-dev' });
    assert.equal(r.code, 0, r.stderr);
    r = await k(['get', 'nodes'], { context: 'tap-dev' });
    assert.match(r.stderr, /Forbidden.*cannot list resource "nodes".*at the cluster scope/);
    r = await k(['get', 'pods', '-n', 'shop'], { context: 'tap-viewer' });
    assert.equal(r.code, 0, r.stderr);
    r = await k(['delete', 'pod', '-n', 'shop', '-l', 'app=frontend'], { context: 'tap-viewer' });
    assert.match(r.stderr, /Forbidden.*User "viewer" cannot delete resource "pods"/);
    r = await k(['get', 'secrets', '-n', 'shop'], { context: 'tap-viewer' });
    assert.match(r.stderr, /Forbidden/);
    const pod = (await json(['get', 'pods', '-n', 'shop', '-l', 'app=frontend'])).items[0].metadata.name;
    r = await k(['get', '--raw', `/api/v1/namespaces/shop/pods/${pod}:9100/proxy/metrics`], { context: 'tap-viewer' });
    assert.match(r.stderr, /Forbidden/);
  });

  test('Status errors: NotFound, AlreadyExists, Invalid, Conflict', async () => {
    let r = await k(['get', 'pod', 'nope', '-n', 'shop']);
    assert.match(r.stderr, /Error from server \(NotFound\): pods "nope" not found/);
    r = await k(['create', 'ns', 'shop']);
    assert.match(r.stderr, /Error from server \(AlreadyExists\): namespaces "shop" already exists/);
    r = await k(['run', 'Bad_Name', '--image=debian:12', '-n', 'dev']);
    assert.match(r.stderr, /is invalid/);
    const cm = await json(['get', 'cm', 'kube-root-ca.crt', '-n', 'dev']);
    const stale = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(Number(cm.metadata.resourceVersion) - 1) }, data: { ...cm.data, extra: 'x' } };
    r = await k(['replace', '-f', '-'], { input: JSON.stringify(stale) });
    assert.match(r.stderr, /Error from server \(Conflict\).*the object has been modified/);
  });

  test('DaemonSet: one pod per matching node, nodeSelector and taints honoured, status counted', { timeout: 60_000 }, async () => {
    const ds = (name: string, extra: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${name}, namespace: dev}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      hostNetwork: true
      ${extra}
      containers:
      - {name: agent, image: busybox, command: [sleep, "3600"]}
`;
    // A command that listens on no port: three of these share tap-node-1's network namespace,
    // where servers on one port would crash-loop all but one (as on a real node).
    assert.equal((await k(['taint', 'nodes', 'tap-node-2', 'dedicated=tap:NoSchedule'])).code, 0);
    try {
      let r = await k(['apply', '-f', '-'], { input: ds('agent-all', 'tolerations: [{key: dedicated, operator: Exists}]') + '---\n' + ds('agent-untolerated', 'tolerations: []') + '---\n' + ds('agent-one', 'nodeSelector: {kubernetes.io/hostname: tap-node-1}') });
      assert.equal(r.code, 0, r.stderr);
      const status = (name: string) => waitFor(`${name} status`, async () => {
        const d = await json(['get', 'ds', name, '-n', 'dev']);
        return d.status.observedGeneration === d.metadata.generation && d.status.currentNumberScheduled === d.status.desiredNumberScheduled && d.status.numberReady === d.status.desiredNumberScheduled ? d.status : undefined;
      });
      assert.equal((await status('agent-all')).desiredNumberScheduled, 2);
      assert.equal((await status('agent-untolerated')).desiredNumberScheduled, 1);
      assert.equal((await status('agent-one')).desiredNumberScheduled, 1);
      const pods = await json(['get', 'pods', '-n', 'dev', '-l', 'app=agent-all']);
      assert.deepEqual(pods.items.map((p: any) => p.spec.nodeName).sort(), ['tap-node-1', 'tap-node-2']);
      for (const p of pods.items) {
        assert.equal(p.metadata.ownerReferences[0].kind, 'DaemonSet');
        assert.equal(p.status.podIP, p.status.hostIP, 'hostNetwork pods have the node IP');
      }
      r = await k(['delete', 'ds', '-n', 'dev', 'agent-all', 'agent-untolerated', 'agent-one']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor('daemon pods gone', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'app in (agent-all,agent-one,agent-untolerated)'])).items.length === 0 ? true : undefined));
    } finally {
      await k(['taint', 'nodes', 'tap-node-2', 'dedicated-']);
    }
  });

  test('restart policies: Never fails once, OnFailure restarts, deleting stops the process', { timeout: 60_000 }, async () => {
    let r = await k(['run', 'once', '-n', 'dev', '--image=debian:12', '--restart=Never', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 0, r.stderr);
    r = await k(['run', 'again', '-n', 'dev', '--image=debian:12', '--restart=OnFailure', '--', 'sh', '-c', 'echo started; exit 1']);
    assert.equal(r.code, 0, r.stderr);
    const once = await waitFor('once failed', async () => {
      const p = await json(['get', 'pod', 'once', '-n', 'dev']);
      return p.status.phase === 'Failed' ? p : undefined;
    });
    assert.equal(once.status.containerStatuses[0].state.terminated.exitCode, 3);
    const again = await waitFor('again restarted', async () => {
      const p = await json(['get', 'pod', 'again', '-n', 'dev']);
      return p.status.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
    });
    assert.equal(again.status.containerStatuses[0].lastState.terminated.exitCode, 1);
    const logs = await k(['logs', 'again', '-n', 'dev']);
    assert.match(logs.stdout, /started/);
    r = await k(['run', 'sleeper', '-n', 'dev', '--image=debian:12', '--', 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
    const sleeper = await waitFor('sleeper running', async () => {
      const p = await json(['get', 'pod', 'sleeper', '-n', 'dev']);
      return p.status.phase === 'Running' ? p : undefined;
    });
    const netns = names(dir).podNetns(sleeper.metadata.uid);
    assert.match(await run('ip', ['netns', 'pids', netns]), /\d+/);
    r = await k(['delete', 'pod', '-n', 'dev', 'once', 'again', 'sleeper']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await listNetns(netns)).includes(netns), 'pod netns removed with the pod');
  });

  test("the shop's traffic flows: every hop counted at its server", { timeout: 90_000 }, async () => {
    const want: [string, string, number?][] = [
      ['frontend', 'requests'], ['catalog', 'ListProducts'], ['cart', 'redis_commands'], ['checkout', 'requests'],
      ['payments', 'charges'], ['shipping', 'shipments_consumed'], ['kafka', 'messages'], ['partner-rates', 'host_rates.partner.example'],
    ];
    for (const [app, counter] of want) {
      await waitFor(`${app} ${counter} > 0`, async () => ((await shopMetrics(app))[counter] ?? 0) > 0 ? true : undefined, 60_000, 1000);
    }
    const mesh = await shopMetrics('payments', 9101);
    assert.ok(mesh.accepted! > 0, 'mTLS connections accepted by the sidecar');
    const payments = (await json(['get', 'pods', '-n', 'shop', '-l', 'app=payments'])).items[0];
    const listening = await run('ip', ['netns', 'exec', names(dir).podNetns(payments.metadata.uid), 'ss', '-Hltn']);
    assert.match(listening, /127\.0\.0\.1:8080/, 'payments plaintext only on loopback');
    assert.doesNotMatch(listening, /(0\.0\.0\.0|\*):8080\b/);
  });

  test('down removes every network namespace of the cluster', { timeout: 60_000 }, async () => {
    const prefix = names(dir).netnsPrefix;
    assert.ok((await listNetns(prefix)).length >= 3);
    await down({ dir });
    assert.deepEqual(await listNetns(prefix), []);
  });
}
