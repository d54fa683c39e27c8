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


if (!skipReason) {
  const jobStatus = (name: string, done: (s: any) => boolean) => waitFor(`job ${name}`, async () => {
    const j = await json(['get', 'job', '-n', 'dev', name]);
    return done(j.status ?? {}) ? j : undefined;
  }, 40_000);
  const finishedAs = (type: string) => (s: any) => (s.conditions ?? []).some((c: any) => c.type === type && c.status === 'True');

  test('Jobs: completion, backoffLimit, activeDeadlineSeconds, OnFailure restarts, ttlSecondsAfterFinished', { timeout: 90_000 }, async () => {
    const job = (name: string, spec: string, policy: string, cmd: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}, namespace: dev}
spec:
  ${spec}
  template:
    spec:
      restartPolicy: ${policy}
      containers: [{name: main, image: debian:12, command: [sh, -c, ${JSON.stringify(cmd)}]}]
`;
    await apply([
      job('done', 'completions: 2', 'Never', 'echo ok'),
      job('flaky', 'backoffLimit: 1', 'Never', 'exit 2'),
      job('slow', 'activeDeadlineSeconds: 2', 'Never', 'sleep 60'),
      job('restarts', 'backoffLimit: 1', 'OnFailure', 'exit 1'),
      job('short-lived', 'ttlSecondsAfterFinished: 2', 'Never', 'true'),
    ].join('---\n'));

    const done = await jobStatus('done', finishedAs('Complete'));
    assert.equal(done.status.succeeded, 2);
    assert.ok(done.status.completionTime);
    assert.equal(done.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], done.metadata.uid);
    const donePods = await json(['get', 'pods', '-n', 'dev', '-l', 'job-name=done']);
    assert.equal(donePods.items.length, 2);
    assert.ok(donePods.items.every((p: any) => p.status.phase === 'Succeeded' && p.metadata.ownerReferences[0].kind === 'Job'));

    const flaky = await jobStatus('flaky', finishedAs('Failed'));
    const failedCond = flaky.status.conditions.find((c: any) => c.type === 'Failed');
    assert.equal(failedCond.reason, 'BackoffLimitExceeded');
    assert.equal(failedCond.message, 'Job has reached the specified backoff limit');
    assert.equal(flaky.status.failed, 2, 'backoffLimit 1: the second failure fails the Job');

    const slow = await jobStatus('slow', finishedAs('Failed'));
    assert.equal(slow.status.conditions.find((c: any) => c.type === 'Failed').reason, 'DeadlineExceeded');
    await waitFor('slow job pods deleted', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'job-name=slow'])).items.length === 0 ? true : undefined));

    const restarts = await jobStatus('restarts', finishedAs('Failed'));
    assert.equal(restarts.status.conditions.find((c: any) => c.type === 'Failed').reason, 'BackoffLimitExceeded');

    const table = await k(['get', 'jobs', '-n', 'dev', 'done', 'flaky']);
    assert.match(table.stdout, /NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE/);
    assert.match(table.stdout, /done\s+Complete\s+2\/2/);
    assert.match(table.stdout, /flaky\s+Failed\s+0\/1/);
    const describe = await k(['describe', 'job', '-n', 'dev', 'slow']);
    assert.match(describe.stdout, /Warning\s+DeadlineExceeded\s+.*job-controller\s+Job was active longer than specified deadline/);

    await waitFor('short-lived job removed by the TTL controller', async () => ((await k(['get', 'job', '-n', 'dev', 'short-lived'])).code !== 0 ? true : undefined), 30_000);
    assert.equal((await json(['get', 'pods', '-n', 'dev', '-l', 'job-name=short-lived'])).items.length, 0, 'its pods went with it');
    const invalid = await k(['apply', '-f', '-'], { input: job('bad', '', 'Always', 'true') });
    assert.match(invalid.stderr, /spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/);
    assert.equal((await k(['delete', 'jobs', '-n', 'dev', '--all'])).code, 0);
  });

  test('garbage collector: foreground waits for blockOwnerDeletion dependents, orphan keeps them, a Job deleted without a policy orphans its pods', { timeout: 60_000 }, async () => {
    assert.equal((await k(['create', 'cm', 'owner', '-n', 'dev'])).code, 0);
    const uid = (await json(['get', 'cm', '-n', 'dev', 'owner'])).metadata.uid;
    const dependent = (name: string, block: boolean) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: dev
  finalizers: [example.com/hold]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: ${uid}, blockOwnerDeletion: ${block}}]
`;
    await apply(dependent('blocker', true) + '---\n' + dependent('free', false));
    assert.equal((await k(['delete', 'cm', 'owner', '-n', 'dev', '--cascade=foreground', '--wait=false'])).code, 0);
    const owner = await waitFor('dependents marked for deletion', async () => {
      const [o, b, f] = await Promise.all(['owner', 'blocker', 'free'].map((n) => json(['get', 'cm', '-n', 'dev', n])));
      return b.metadata.deletionTimestamp && f.metadata.deletionTimestamp ? o : undefined;
    });
    assert.deepEqual(owner.metadata.finalizers, ['foregroundDeletion']);
    assert.ok(owner.metadata.deletionTimestamp);
    assert.equal((await k(['patch', 'cm', 'free', '-n', 'dev', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])).code, 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await k(['get', 'cm', '-n', 'dev', 'owner'])).code, 0, 'a non-blocking dependent does not hold the owner');
    assert.equal((await k(['patch', 'cm', 'blocker', '-n', 'dev', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])).code, 0);
    await waitFor('owner gone once its blocking dependent is', async () => ((await k(['get', 'cm', '-n', 'dev', 'owner'])).code !== 0 ? true : undefined));

    assert.equal((await k(['create', 'deployment', 'kept', '-n', 'dev', '--image=debian:12', '--', 'sleep', '600'])).code, 0);
    await waitFor('kept pod', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'app=kept'])).items[0]));
    assert.equal((await k(['delete', 'deployment', 'kept', '-n', 'dev', '--cascade=orphan'])).code, 0);
    const rs = await waitFor('orphaned ReplicaSet', async () => {
      const list = await json(['get', 'rs', '-n', 'dev', '-l', 'app=kept']);
      return list.items[0] && !list.items[0].metadata.ownerReferences ? list.items[0] : undefined;
    });
    assert.equal((await k(['delete', 'rs', rs.metadata.name, '-n', 'dev'])).code, 0);
    await waitFor('background deletion removes the pods', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'app=kept'])).items.length === 0 ? true : undefined));

    assert.equal((await k(['create', 'job', 'legacy', '-n', 'dev', '--image=debian:12', '--', 'sleep', '600'])).code, 0);
    const pod = await waitFor('legacy pod', async () => ((await json(['get', 'pods', '-n', 'dev', '-l', 'job-name=legacy'])).items[0]));
    const raw = await k(['delete', '--raw', '/apis/batch/v1/namespaces/dev/jobs/legacy']);
    assert.match(raw.stderr, /Warning: child pods are preserved by default when jobs are deleted/);
    await waitFor('job gone', async () => ((await k(['get', 'job', '-n', 'dev', 'legacy'])).code !== 0 ? true : undefined));
    const orphan = await json(['get', 'pod', '-n', 'dev', pod.metadata.name]);
    assert.equal(orphan.metadata.ownerReferences, undefined, 'the pod outlives its Job, unowned');
    assert.equal((await k(['delete', 'pod', '-n', 'dev', pod.metadata.name, '--grace-period=0'])).code, 0);
  });
}
