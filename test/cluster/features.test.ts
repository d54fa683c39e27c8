// What `kubectl tap` relies on, shown with the real kubectl against one 2-node cluster
// (no shop): volumes and env from Secrets and the downward API, in-cluster API access with
// service-account tokens and RBAC, Jobs and the garbage collector, Pod Security admission,
// events, resources, and a node joining and leaving. The cluster is torn down in `after`,
// whatever happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { up, down, type UpResult } from './cluster.js';
import { repoRoot } from './paths.js';
import { kubectl, hasKubectl, waitFor } from './kubectl.js';

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root: network namespaces, mounts, iptables' : !hasKubectl() ? 'needs kubectl on PATH' : undefined;
const dir = join(repoRoot, '.cluster', 'tests', 'features-test');
let cluster: UpResult | undefined;

const k = (args: string[], opts: { context?: string; input?: string } = {}) => kubectl(cluster!.kubeconfig, args, opts);

async function json(args: string[]): Promise<any> {
  const r = await k([...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function apply(yaml: string): Promise<void> {
  const r = await k(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

function podPhase(ns: string, name: string, phases: string[]): Promise<any> {
  return waitFor(`pod ${ns}/${name} in ${phases.join('/')}`, async () => {
    const p = await json(['get', 'pod', '-n', ns, name]);
    return phases.includes(p.status.phase) ? p : undefined;
  }, 30_000);
}

async function logs(ns: string, name: string, container?: string): Promise<string> {
  const r = await k(['logs', '-n', ns, name, ...(container ? ['-c', container] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

function events(ns: string, selector: string): Promise<any[]> {
  return json(['get', 'events', '-n', ns, '--field-selector', selector]).then((l) => l.items);
}

if (skipReason) {
  test('simulated cluster features', (t) => {
    console.error(`SKIPPED simulated cluster feature tests: ${skipReason}`);
    t.skip(skipReason);
  });
} else {
  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 2, shop: false });
  }, { timeout: 90_000 });

  after(async () => {
    await down({ dir });
  }, { timeout: 60_000 });

  test('volumes: hostPath (read-only /proc), Secret, emptyDir shared by two containers; env from a Secret and the downward API', { timeout: 60_000 }, async () => {
    const hostDir = join(dir, 'host-data');
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, 'seen-by-pod'), 'from the node\n');
    assert.equal((await k(['create', 'secret', 'generic', 'creds', '-n', 'dev', '--from-literal=password=s3cret', '--from-literal=user=tap'])).code, 0);
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: vols, namespace: dev, labels: {tier: probe}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: debian:12
    command: [sh, -c]
    args:
    - |
      cat /host/proc/1/status | grep -c '^Pid:'
      touch /host/data/new 2>&1 || true
      cat /host/data/seen-by-pod
      echo "secret=$(cat /etc/creds/pass)"
      stat -c 'mode=%a' /etc/creds/..data/pass
      ls /etc/creds
      touch /etc/creds/x 2>&1 || true
      echo "env=$PASSWORD $NODE $ME $IP $LABEL"
      while [ ! -f /shared/from-writer ]; do sleep 0.1; done; cat /shared/from-writer
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: ME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: LABEL, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    volumeMounts:
    - {name: proc, mountPath: /host/proc, readOnly: true}
    - {name: data, mountPath: /host/data, readOnly: true}
    - {name: creds, mountPath: /etc/creds}
    - {name: shared, mountPath: /shared}
  - name: writer
    image: debian:12
    command: [sh, -c, 'echo written-by-the-other-container > /shared/from-writer']
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - {name: proc, hostPath: {path: /proc}}
  - {name: data, hostPath: {path: ${hostDir}, type: Directory}}
  - {name: creds, secret: {secretName: creds, defaultMode: 0400, items: [{key: password, path: pass}]}}
  - {name: shared, emptyDir: {}}
`);
    const pod = await podPhase('dev', 'vols', ['Succeeded', 'Failed']);
    const out = await logs('dev', 'vols', 'main');
    assert.equal(pod.status.phase, 'Succeeded', out);
    const lines = out.trim().split('\n');
    assert.equal(lines[0], '1', 'the node\'s /proc is readable');
    assert.match(lines[1]!, /Read-only file system/, 'readOnly hostPath refuses writes');
    assert.equal(lines[2], 'from the node');
    assert.equal(lines[3], 'secret=s3cret');
    assert.equal(lines[4], 'mode=400', 'defaultMode applied');
    assert.equal(lines[5], 'pass', 'only the listed item is projected');
    assert.match(lines[6]!, /Read-only file system/, 'Secret volumes are read-only');
    assert.equal(lines[7], `env=s3cret ${pod.spec.nodeName} vols ${pod.status.podIP} probe`);
    assert.equal(lines[8], 'written-by-the-other-container', 'emptyDir shared by the pod\'s containers');
    assert.ok(!existsSync(join(hostDir, 'new')));
    // the host only has the empty mount point (removed by down), never the secret
    assert.deepEqual(readdirSync('/etc/creds'), [], 'nothing mounted on the host itself');
  });

  test('a missing Secret: FailedMount event, ContainerCreating, then the pod starts once it exists', { timeout: 60_000 }, async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: waits-for-secret, namespace: dev}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: debian:12, command: [cat, /s/key], volumeMounts: [{name: s, mountPath: /s}]}
  volumes: [{name: s, secret: {secretName: later}}]
`);
    const ev = await waitFor('FailedMount event', async () => (await events('dev', 'involvedObject.name=waits-for-secret,reason=FailedMount'))[0]);
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, 'MountVolume.SetUp failed for volume "s" : secret "later" not found');
    assert.equal(ev.source.component, 'kubelet');
    const describe = await k(['describe', 'pod', '-n', 'dev', 'waits-for-secret']);
    assert.match(describe.stdout, /Warning\s+FailedMount\s+.*MountVolume\.SetUp failed for volume "s" : secret "later" not found/);
    assert.match(describe.stdout, /State:\s+Waiting\s+Reason:\s+ContainerCreating/);
    assert.equal((await k(['create', 'secret', 'generic', 'later', '-n', 'dev', '--from-literal=key=arrived'])).code, 0);
    await podPhase('dev', 'waits-for-secret', ['Succeeded']);
    assert.equal(await logs('dev', 'waits-for-secret'), 'arrived');
  });

  test('in-cluster API access: kubernetes Service, projected token, RBAC for the service account', { timeout: 60_000 }, async () => {
    assert.equal((await k(['create', 'serviceaccount', 'reader', '-n', 'dev'])).code, 0);
    const script = (path: string) => `SA=/var/run/secrets/kubernetes.io/serviceaccount
ls $SA; echo "ns=$(cat $SA/namespace)"
curl -sS --cacert $SA/ca.crt -H "Authorization: Bearer $(cat $SA/token)" https://kubernetes.default.svc${path}; echo
curl -sS --cacert $SA/ca.crt -o /dev/null -w '%{http_code}\\n' https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/version`;
    const pod = (name: string, sa: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: dev}
spec:
  restartPolicy: Never
  serviceAccountName: ${sa}
  ${extra}
  containers:
  - name: main
    image: debian:12
    command: [sh, -c, ${JSON.stringify(script('/api/v1/namespaces/dev/pods?labelSelector=none%3Dnone'))}]
`;
    await apply(pod('api-denied', 'reader'));
    await podPhase('dev', 'api-denied', ['Succeeded', 'Failed']);
    let out = (await logs('dev', 'api-denied')).trim().split('\n');
    assert.deepEqual(out.slice(0, 4), ['ca.crt', 'namespace', 'token', 'ns=dev']);
    const denied = JSON.parse(out[4]!);
    assert.equal(denied.code, 403);
    assert.equal(denied.message, 'pods is forbidden: User "system:serviceaccount:dev:reader" cannot list resource "pods" in API group "" in the namespace "dev"');
    assert.equal(out[5], '401', 'no token: Unauthorized');
    const spec = await json(['get', 'pod', '-n', 'dev', 'api-denied']);
    const vol = spec.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.deepEqual(vol.projected.sources.map((s: any) => Object.keys(s)[0]), ['serviceAccountToken', 'configMap', 'downwardAPI']);
    assert.deepEqual(spec.spec.containers[0].volumeMounts, [{ name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);

    assert.equal((await k(['create', 'rolebinding', 'reader-view', '-n', 'dev', '--clusterrole=view', '--serviceaccount=dev:reader'])).code, 0);
    await apply(pod('api-allowed', 'reader'));
    await podPhase('dev', 'api-allowed', ['Succeeded', 'Failed']);
    out = (await logs('dev', 'api-allowed')).trim().split('\n');
    assert.equal(JSON.parse(out[4]!).kind, 'PodList');

    await apply(pod('no-token', 'reader', 'automountServiceAccountToken: false'));
    await podPhase('dev', 'no-token', ['Succeeded', 'Failed']);
    assert.match(await logs('dev', 'no-token'), /No such file or directory/);
    assert.equal((await json(['get', 'pod', '-n', 'dev', 'no-token'])).spec.volumes, undefined);

    const token = (await k(['create', 'token', 'reader', '-n', 'dev'])).stdout.trim();
    const asSa = await k(['--token', token, 'auth', 'can-i', 'list', 'pods', '-n', 'dev']);
    assert.equal(asSa.stdout.trim(), 'yes');
    assert.equal((await k(['--token', token, 'auth', 'can-i', 'list', 'secrets', '-n', 'dev'])).stdout.trim(), 'no');
    assert.equal((await k(['delete', 'serviceaccount', 'reader', '-n', 'dev'])).code, 0);
    const after = await k(['--token', token, 'get', 'pods', '-n', 'dev']);
    assert.match(after.stderr, /Unauthorized/, 'a deleted service account\'s tokens stop working');
    const missing = await k(['run', 'ghost', '-n', 'dev', '--image=debian:12', '--overrides', '{"spec":{"serviceAccountName":"nobody"}}', '--', 'true']);
    assert.match(missing.stderr, /pods "ghost" is forbidden: error looking up service account dev\/nobody: serviceaccount "nobody" not found/);
  });
}

