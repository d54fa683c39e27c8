// What `kubectl tap` relies on, shown with the real kubectl against one 2-node cluster
// (no shop): volumes and env from Secrets and the downward API, in-cluster API access with
// service-account tokens and RBAC, Jobs and the garbage collector, Pod Security admission,
// events, resources, kube-proxy's refusal without endpoints, and a node joining and
// leaving. The cluster is torn down in `after`, whatever happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { up, down, type UpResult } from './cluster.js';
import { names, repoRoot } from './paths.js';
import { listNetns } from './net/plumbing.js';
import { run } from './exec.js';
import { kubectlFor, hasKubectl, waitFor } from './kubectl.js';

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root: network namespaces, mounts, iptables' : !hasKubectl() ? 'needs kubectl on PATH' : undefined;
const dir = join(repoRoot, '.cluster', 'tests', 'features-test');
let cluster: UpResult | undefined;

const { k, json } = kubectlFor(() => cluster!.kubeconfig);

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
  }, { timeout: 240_000 });

  after(async () => {
    await down({ dir });
  }, { timeout: 180_000 });

  test('volumes: hostPath (read-only /proc), Secret, emptyDir shared by two containers; env from a Secret and the downward API', { timeout: 180_000 }, async () => {
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
      echo "inner=$(cat /shared/inner/pass)"
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
    - {name: creds, mountPath: /shared/inner}
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
    assert.equal(lines[9], 'inner=s3cret', 'a volume mounted inside another one');
    assert.ok(!existsSync(join(hostDir, 'new')));
    // the host only has the empty mount point (removed by down), never the secret
    assert.deepEqual(readdirSync('/etc/creds'), [], 'nothing mounted on the host itself');
  });

  test('a Secret updated while its pod runs: the volume follows (atomically), a subPath mount keeps the old value, env keeps the old value', { timeout: 180_000 }, async () => {
    assert.equal((await k(['create', 'secret', 'generic', 'rotating', '-n', 'dev', '--from-literal=value=first'])).code, 0);
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: dev}
spec:
  containers:
  - name: main
    image: debian:12
    command: [sleep, "600"]
    env: [{name: VALUE, valueFrom: {secretKeyRef: {name: rotating, key: value}}}]
    volumeMounts:
    - {name: s, mountPath: /s}
    - {name: s, mountPath: /pinned, subPath: value}
  volumes: [{name: s, secret: {secretName: rotating}}]
`);
    const pod = await podPhase('dev', 'reader', ['Running']);
    // the container's own mount namespace, entered through its process (containerID tap://PID)
    const pid = Number(/^tap:\/\/(\d+)$/.exec(pod.status.containerStatuses[0].containerID)?.[1]);
    const inPod = (cmd: string) => run('nsenter', ['-t', String(pid), '-m', 'sh', '-c', cmd]);
    // Running is reported at spawn; the mounts are done once the command itself is exec'd
    await waitFor('the container command running', async () => (readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep\0') ? true : undefined), 10_000, 50);
    const envValue = () => /(?:^|\0)VALUE=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1];
    assert.equal(await inPod('cat /s/value /pinned'), 'firstfirst');
    assert.equal(envValue(), 'first');
    const update = await k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rotating', namespace: 'dev' }, stringData: { value: 'second' } }) });
    assert.equal(update.code, 0, update.stderr);
    await waitFor('the volume shows the new value', async () => ((await inPod('cat /s/value')) === 'second' ? true : undefined), 60_000);
    assert.equal(await inPod('cat /pinned'), 'first', 'a subPath mount is not updated');
    assert.equal(envValue(), 'first', 'environment variables are fixed at start');
    assert.match(await inPod('readlink /s/..data'), /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+\n$/);
    assert.equal((await k(['delete', 'pod', '-n', 'dev', 'reader', '--grace-period=0'])).code, 0);
  });

  test('a missing Secret: FailedMount event, ContainerCreating, then the pod starts once it exists', { timeout: 180_000 }, async () => {
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

  test('in-cluster API access: kubernetes Service, projected token, RBAC for the service account', { timeout: 180_000 }, async () => {
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

    // a hostNetwork pod with ClusterFirstWithHostNet resolves cluster names (its own resolv.conf)
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: host-dns, namespace: dev}
spec:
  restartPolicy: Never
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{name: main, image: debian:12, command: [sh, -c, 'grep ^nameserver /etc/resolv.conf; getent hosts kubernetes.default.svc.cluster.local']}]
`);
    await podPhase('dev', 'host-dns', ['Succeeded', 'Failed']);
    assert.match(await logs('dev', 'host-dns'), /^nameserver 10\.96\.0\.10\n10\.96\.0\.1\s+kubernetes\.default\.svc\.cluster\.local/);

    await apply(`apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: dev}
automountServiceAccountToken: false
`);
    await apply(pod('quiet-sa', 'quiet'));
    assert.equal((await json(['get', 'pod', '-n', 'dev', 'quiet-sa'])).spec.volumes, undefined, 'the service account opts out');
    await apply(pod('quiet-sa-opt-in', 'quiet', 'automountServiceAccountToken: true'));
    assert.ok((await json(['get', 'pod', '-n', 'dev', 'quiet-sa-opt-in'])).spec.volumes[0].name.startsWith('kube-api-access-'), 'the pod overrides its service account');

    const token = (await k(['create', 'token', 'reader', '-n', 'dev'])).stdout.trim();
    const whoami = JSON.parse((await k(['--token', token, 'auth', 'whoami', '-o', 'json'])).stdout).status.userInfo;
    assert.equal(whoami.username, 'system:serviceaccount:dev:reader');
    assert.deepEqual(whoami.groups, ['system:serviceaccounts', 'system:serviceaccounts:dev', 'system:authenticated']);
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

  test('Jobs: completion, backoffLimit, activeDeadlineSeconds, OnFailure restarts, ttlSecondsAfterFinished', { timeout: 180_000 }, async () => {
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
      job('renewed', 'activeDeadlineSeconds: 600', 'Never', 'sleep 600'),
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

    // the controller follows a changed activeDeadlineSeconds (what a heartbeat renewing it relies on)
    const running = await jobStatus('renewed', (s) => s.active === 1);
    assert.equal(running.status.conditions, undefined);
    const shorten = await k(['patch', 'job', 'renewed', '-n', 'dev', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":1}}']);
    assert.equal(shorten.code, 0, shorten.stderr);
    const cut = await jobStatus('renewed', finishedAs('Failed'));
    assert.equal(cut.status.conditions.find((c: any) => c.type === 'Failed').reason, 'DeadlineExceeded');
    await waitFor('short-lived job removed by the TTL controller', async () => ((await k(['get', 'job', '-n', 'dev', 'short-lived'])).code !== 0 ? true : undefined), 30_000);
    assert.equal((await json(['get', 'pods', '-n', 'dev', '-l', 'job-name=short-lived'])).items.length, 0, 'its pods went with it');
    const invalid = await k(['apply', '-f', '-'], { input: job('bad', '', 'Always', 'true') });
    assert.match(invalid.stderr, /spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/);
    assert.equal((await k(['delete', 'jobs', '-n', 'dev', '--all'])).code, 0);
  });

  test('garbage collector: foreground waits for blockOwnerDeletion dependents, orphan keeps them, a Job deleted without a policy orphans its pods', { timeout: 180_000 }, async () => {
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

    // cluster-scoped objects owned by a namespace go with it
    assert.equal((await k(['create', 'ns', 'owner-ns'])).code, 0);
    const nsUid = (await json(['get', 'ns', 'owner-ns'])).metadata.uid;
    await apply(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: owned-by-ns
  ownerReferences: [{apiVersion: v1, kind: Namespace, name: owner-ns, uid: ${nsUid}}]
rules: [{apiGroups: [""], resources: [namespaces], resourceNames: [owner-ns], verbs: [get, delete]}]
`);
    assert.equal((await k(['delete', 'ns', 'owner-ns'])).code, 0);
    await waitFor('ClusterRole collected with its namespace', async () => ((await k(['get', 'clusterrole', 'owned-by-ns'])).code !== 0 ? true : undefined));

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

if (!skipReason) {
  test('Pod Security admission: enforce refuses with the real message, warn and audit, DaemonSet pods refused with FailedCreate', { timeout: 180_000 }, async () => {
    assert.equal((await k(['create', 'ns', 'psa'])).code, 0);
    assert.equal((await k(['run', 'early', '-n', 'psa', '--image=debian:12', '--overrides', '{"spec":{"hostNetwork":true}}', '--', 'sleep', '600'])).code, 0);
    const label = await k(['label', 'ns', 'psa', 'pod-security.kubernetes.io/enforce=baseline', 'pod-security.kubernetes.io/enforce-version=v1.30']);
    assert.equal(label.code, 0, label.stderr);
    assert.match(label.stderr, /Warning: existing pods in namespace "psa" violate the new PodSecurity enforce level "baseline:v1\.30"/);
    assert.match(label.stderr, /Warning: early: host namespaces \(hostNetwork=true\)/);

    const bad = await k(['run', 'bad', '-n', 'psa', '--image=debian:12', '--overrides', JSON.stringify({
      spec: {
        hostNetwork: true, hostPID: true, volumes: [{ name: 'proc', hostPath: { path: '/proc' } }],
        containers: [{ name: 'bad', image: 'debian:12', securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] } } }],
      },
    }), '--', 'sleep', '1']);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim(), 'Error from server (Forbidden): pods "bad" is forbidden: violates PodSecurity "baseline:v1.30": '
      + 'non-default capabilities (container "bad" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), '
      + 'host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "proc"), privileged (container "bad" must not set securityContext.privileged=true)');

    assert.equal((await k(['label', 'ns', 'psa', 'pod-security.kubernetes.io/warn=restricted', 'pod-security.kubernetes.io/audit=restricted'])).code, 0);
    const warned = await k(['run', 'plain', '-n', 'psa', '--image=debian:12', '--', 'sleep', '1']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "plain" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "plain" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "plain" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "plain" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)$/m);
    const restrictedOk = await k(['run', 'tidy', '-n', 'psa', '--image=debian:12', '--overrides', JSON.stringify({
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'tidy', image: 'debian:12', command: ['true'], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      },
    })]);
    assert.equal(restrictedOk.code, 0, restrictedOk.stderr);
    assert.doesNotMatch(restrictedOk.stderr, /Warning/);

    const ds = await k(['apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: psa}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      volumes: [{name: proc, hostPath: {path: /proc}}]
      containers: [{name: agent, image: debian:12, command: [sleep, "600"], volumeMounts: [{name: proc, mountPath: /host/proc, readOnly: true}]}]
` });
    assert.equal(ds.code, 0, ds.stderr);
    assert.match(ds.stderr, /Warning: would violate PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\), hostPath volumes \(volume "proc"\), allowPrivilegeEscalation != false/);
    assert.match(ds.stdout, /daemonset\.apps\/agent created/);
    const ev = await waitFor('FailedCreate on the DaemonSet', async () => (await events('psa', 'involvedObject.kind=DaemonSet,reason=FailedCreate'))[0]);
    assert.equal(ev.source.component, 'daemonset-controller');
    assert.equal(ev.message, 'Error creating: pods "agent-" is forbidden: violates PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true), hostPath volumes (volume "proc")');
    const status = (await json(['get', 'ds', '-n', 'psa', 'agent'])).status;
    assert.equal(status.desiredNumberScheduled, 2);
    assert.equal(status.currentNumberScheduled, 0);
    assert.equal(status.numberUnavailable, 2);
    const describe = await k(['describe', 'ds', '-n', 'psa', 'agent']);
    assert.match(describe.stdout, /Warning\s+FailedCreate\s+.*daemonset-controller\s+Error creating: pods "agent-" is forbidden: violates PodSecurity/);

    const audit = readFileSync(join(dir, 'logs', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const plainAudit = audit.find((e) => e.objectRef.name === 'plain' && e.annotations);
    assert.match(plainAudit.annotations['pod-security.kubernetes.io/audit-violations'], /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);

    const invalid = await k(['label', 'ns', 'psa', 'pod-security.kubernetes.io/enforce=bogus', '--overwrite']);
    assert.match(invalid.stderr, /Invalid value: "bogus": must be one of privileged, baseline, restricted/);
    assert.equal((await k(['delete', 'ns', 'psa', '--wait=false'])).code, 0);
  });
}

if (!skipReason) {
  test('events: ErrImagePull then ImagePullBackOff, BackOff for a crashing container, as get events and describe show them', { timeout: 180_000 }, async () => {
    assert.equal((await k(['run', 'no-image', '-n', 'dev', '--image=nope.invalid/thing:1'])).code, 0);
    assert.equal((await k(['run', 'crasher', '-n', 'dev', '--image=debian:12', '--', 'sh', '-c', 'echo boom; exit 1'])).code, 0);
    const seen = new Set<string>();
    await waitFor('ErrImagePull, then ImagePullBackOff', async () => {
      const p = await json(['get', 'pod', '-n', 'dev', 'no-image']);
      const reason = p.status.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason) seen.add(reason);
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff') ? true : undefined;
    }, 60_000, 200);
    const evs = await events('dev', 'involvedObject.name=no-image');
    const text = evs.map((e: any) => `${e.type} ${e.reason} ${e.message}`);
    assert.ok(text.includes('Normal Pulling Pulling image "nope.invalid/thing:1"'), text.join('\n'));
    assert.ok(text.includes('Warning Failed Error: ErrImagePull'), text.join('\n'));
    assert.ok(text.includes('Normal BackOff Back-off pulling image "nope.invalid/thing:1"'), text.join('\n'));
    assert.ok(text.includes('Warning Failed Error: ImagePullBackOff'), text.join('\n'));
    assert.ok(evs.every((e: any) => e.source.component === (e.reason === 'Scheduled' ? 'default-scheduler' : 'kubelet') && e.involvedObject.kind === 'Pod' && e.firstTimestamp && e.lastTimestamp), JSON.stringify(evs));
    const table = await k(['get', 'events', '-n', 'dev', '--field-selector', 'involvedObject.name=no-image']);
    assert.match(table.stdout, /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
    assert.match(table.stdout, /Warning\s+Failed\s+pod\/no-image\s+Failed to pull image "nope\.invalid\/thing:1": rpc error: code = NotFound/);

    const crash = await waitFor('BackOff counted twice', async () => {
      const e = (await events('dev', 'involvedObject.name=crasher,reason=BackOff'))[0];
      return e?.count >= 2 ? e : undefined;
    }, 30_000);
    assert.equal(crash.type, 'Warning');
    assert.match(crash.message, /^Back-off restarting failed container crasher in pod crasher_dev\(/);
    const pod = await json(['get', 'pod', '-n', 'dev', 'crasher']);
    assert.equal(pod.status.containerStatuses[0].lastState.terminated.exitCode, 1);
    const describe = await k(['describe', 'pod', '-n', 'dev', 'crasher']);
    assert.match(describe.stdout, /Warning\s+BackOff\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Back-off restarting failed container crasher/);
    assert.equal((await k(['delete', 'pod', '-n', 'dev', 'no-image', 'crasher', '--grace-period=0'])).code, 0);
  });

  test('scheduling: FailedScheduling with the real message for taints, selectors and resources; requests counted against allocatable', { timeout: 180_000 }, async () => {
    assert.equal((await k(['taint', 'nodes', 'tap-node-2', 'dedicated=tap:NoSchedule'])).code, 0);
    try {
      const node1 = await json(['get', 'node', 'tap-node-1']);
      const memory = node1.status.allocatable.memory as string;
      const pod = (name: string, spec: object) => k(['run', name, '-n', 'dev', '--image=debian:12', '--overrides', JSON.stringify({ spec: { ...spec } }), '--', 'sleep', '600']);
      const container = (name: string, requests: object) => ({ containers: [{ name, image: 'debian:12', command: ['sleep', '600'], resources: { requests } }] });
      assert.equal((await pod('huge', container('huge', { memory: '100Ti' }))).code, 0);
      assert.equal((await pod('picky', { nodeSelector: { disk: 'ssd' } })).code, 0);
      const message = async (name: string) => waitFor(`FailedScheduling for ${name}`, async () => (await events('dev', `involvedObject.name=${name},reason=FailedScheduling`))[0]?.message);
      assert.equal(await message('huge'), '0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: tap}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.');
      assert.equal(await message('picky'), "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: tap}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
      const huge = await json(['get', 'pod', '-n', 'dev', 'huge']);
      assert.deepEqual([huge.status.phase, huge.status.conditions[0].type, huge.status.conditions[0].status, huge.status.conditions[0].reason], ['Pending', 'PodScheduled', 'False', 'Unschedulable']);
      assert.equal(huge.status.qosClass, 'Burstable');
      const describe = await k(['describe', 'pod', '-n', 'dev', 'picky']);
      assert.match(describe.stdout, /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/2 nodes are available/);

      // half of node 1's memory fits once, not twice: requests are summed per node
      const half = `${Math.floor(Number(memory.replace(/Ki$/, '')) / 2) + 1}Ki`;
      assert.equal((await pod('half-a', { nodeSelector: { 'kubernetes.io/hostname': 'tap-node-1' }, ...container('half-a', { memory: half }) })).code, 0);
      assert.equal((await pod('half-b', { nodeSelector: { 'kubernetes.io/hostname': 'tap-node-1' }, ...container('half-b', { memory: half }) })).code, 0);
      assert.equal((await podPhase('dev', 'half-a', ['Running'])).spec.nodeName, 'tap-node-1');
      assert.match(await message('half-b'), /^0\/2 nodes are available: 1 Insufficient memory, 1 node\(s\) had untolerated taint \{dedicated: tap\}\./);
      const nodeDescribe = await k(['describe', 'node', 'tap-node-1']);
      assert.match(nodeDescribe.stdout, /Allocatable:/);
      assert.equal((await k(['delete', 'pod', '-n', 'dev', 'half-a', '--grace-period=0'])).code, 0);
      await podPhase('dev', 'half-b', ['Running']);
    } finally {
      await k(['taint', 'nodes', 'tap-node-2', 'dedicated-']);
      await k(['delete', 'pod', '-n', 'dev', 'huge', 'picky', 'half-a', 'half-b', '--grace-period=0', '--ignore-not-found']);
    }
  });

  test('memory limits: a container over limits.memory is OOMKilled (exit 137) and restarted by its policy', { timeout: 180_000 }, async () => {
    const hog = (name: string, policy: string, mib: number) => k(['run', name, '-n', 'dev', '--image=debian:12', `--restart=${policy}`, '--overrides', JSON.stringify({
      spec: { containers: [{ name, image: 'debian:12', command: ['python3', '-c', `x = bytearray(${mib} * 1024 * 1024); print("allocated", len(x))`], resources: { limits: { memory: '64Mi' } } }] },
    })]);
    assert.equal((await hog('hog', 'OnFailure', 256)).code, 0);
    assert.equal((await hog('modest', 'Never', 16)).code, 0);
    const restarted = await waitFor('hog restarted after an OOM kill', async () => {
      const p = await json(['get', 'pod', '-n', 'dev', 'hog']);
      return p.status.containerStatuses?.[0]?.lastState?.terminated ? p : undefined;
    });
    const last = restarted.status.containerStatuses[0].lastState.terminated;
    assert.deepEqual([last.reason, last.exitCode], ['OOMKilled', 137]);
    assert.equal(restarted.status.qosClass, 'Burstable', 'a memory limit without a cpu limit');
    assert.equal(restarted.spec.containers[0].resources.requests.memory, '64Mi', 'requests default to limits');
    const modest = await podPhase('dev', 'modest', ['Succeeded', 'Failed']);
    assert.equal(modest.status.phase, 'Succeeded', 'under its limit it runs to completion');
    assert.match(await logs('dev', 'modest'), /allocated 16777216/);
    const describe = await k(['describe', 'pod', '-n', 'dev', 'hog']);
    assert.match(describe.stdout, /Last State:\s+Terminated\s+Reason:\s+OOMKilled\s+Exit Code:\s+137/);
    assert.equal((await k(['delete', 'pod', '-n', 'dev', 'hog', 'modest', '--grace-period=0'])).code, 0);
  });
}

if (!skipReason) {
  const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'cluster', 'cli.ts'), ...args, '--dir', dir]);

  test('a node joins and leaves: DaemonSet pods follow, the scheduler uses it, its pods reach others and Services', { timeout: 180_000 }, async () => {
    await apply(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web-agent, namespace: dev}
spec:
  selector: {matchLabels: {app: web-agent}}
  template:
    metadata: {labels: {app: web-agent}}
    spec:
      containers: [{name: agent, image: debian:12, command: [python3, -m, http.server, "8080"], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}]
`);
    const dsReady = (n: number) => waitFor(`DaemonSet on ${n} nodes`, async () => {
      const s = (await json(['get', 'ds', '-n', 'dev', 'web-agent'])).status;
      return s.desiredNumberScheduled === n && s.numberReady === n ? s : undefined;
    }, 30_000);
    await dsReady(2);
    assert.equal((await cli(['add-node'])).trim(), 'tap-node-3');
    const node = await json(['get', 'node', 'tap-node-3']);
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal(node.status.addresses[0].address, '10.243.0.3');
    await dsReady(3);
    const agents = (await json(['get', 'pods', '-n', 'dev', '-l', 'app=web-agent'])).items;
    const onNew = agents.find((p: any) => p.spec.nodeName === 'tap-node-3');
    assert.match(onNew.status.podIP, /^10\.244\.3\./);

    // the scheduler places work on the new node when it is the only one that fits
    const probe = JSON.stringify({ spec: { nodeSelector: { 'kubernetes.io/hostname': 'tap-node-3' } } });
    const peer = agents.find((p: any) => p.spec.nodeName === 'tap-node-1').status.podIP;
    assert.equal((await k(['run', 'on-new', '-n', 'dev', '--image=debian:12', '--restart=Never', '--overrides', probe, '--', 'sh', '-c',
      `curl -s -o /dev/null -w '%{http_code} ' http://${peer}:8080/; curl -sk -o /dev/null -w '%{http_code}' https://kubernetes.default.svc/version -H "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)"`])).code, 0);
    const done = await podPhase('dev', 'on-new', ['Succeeded', 'Failed']);
    assert.equal(done.spec.nodeName, 'tap-node-3');
    assert.equal(await logs('dev', 'on-new'), '200 200', 'pod network and Services work from the new node');
    const registered = await events('default', 'involvedObject.name=tap-node-3,reason=RegisteredNode');
    assert.equal(registered[0]?.message, 'Node tap-node-3 event: Registered Node tap-node-3 in Controller');

    await cli(['remove-node', 'tap-node-3']);
    assert.notEqual((await k(['get', 'node', 'tap-node-3'])).code, 0);
    await dsReady(2);
    const left = (await json(['get', 'pods', '-n', 'dev'])).items.filter((p: any) => p.spec.nodeName === 'tap-node-3');
    assert.deepEqual(left.map((p: any) => p.metadata.name), [], 'pods bound to the node are gone');
    assert.ok(!(await listNetns(names(dir).netnsPrefix)).includes(names(dir).nodeNetns(3)), 'the node network is removed');
    const missing = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'cluster', 'cli.ts'), 'remove-node', 'tap-node-9', '--dir', dir]).catch((err: Error) => err.message);
    assert.match(missing, /node "tap-node-9" not found/);
    assert.equal((await k(['delete', 'ds', '-n', 'dev', 'web-agent'])).code, 0);
  });

  test('kube-proxy: a Service port without ready endpoints refuses connections at once; a client that started before its server connects when the endpoint is ready', { timeout: 180_000 }, async () => {
    await apply(`apiVersion: v1
kind: Service
metadata: {name: late, namespace: dev}
spec:
  selector: {app: late}
  ports: [{port: 80, targetPort: 8080}]
`);
    const svc = await json(['get', 'svc', '-n', 'dev', 'late']);
    const ip = svc.spec.clusterIP;
    // No endpoint yet: refused (curl's exit 7), as kube-proxy's REJECT answers, not a timeout (28).
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: too-early, namespace: dev}
spec:
  restartPolicy: Never
  containers: [{name: main, image: debian:12, command: [sh, -c, 'curl -sS -o /dev/null --connect-timeout 10 http://${ip}/; echo "exit=$?"']}]
`);
    await podPhase('dev', 'too-early', ['Succeeded', 'Failed']);
    const early = await logs('dev', 'too-early');
    assert.match(early, /Connection refused|Couldn't connect to server/);
    assert.match(early, /exit=7\n$/);
    // A client retrying from before the server exists gets through once it is ready.
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: patient, namespace: dev}
spec:
  restartPolicy: Never
  containers: [{name: main, image: debian:12, command: [sh, -c, 'for i in $(seq 120); do c=$(curl -s -o /dev/null -w "%{http_code}" --connect-timeout 60 http://${ip}/) && break; sleep 0.5; done; echo "$c after $i"']}]
`);
    await podPhase('dev', 'patient', ['Running']);
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: late-server, namespace: dev, labels: {app: late}}
spec:
  containers: [{name: web, image: debian:12, command: [python3, -m, http.server, "8080"], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}]
`);
    await podPhase('dev', 'patient', ['Succeeded', 'Failed']);
    const patient = await logs('dev', 'patient');
    const [, code, attempts] = /^(\d+) after (\d+)\n$/.exec(patient) ?? [];
    assert.equal(code, '200', patient);
    assert.ok(Number(attempts) > 1, `the first attempts came before the server: ${patient}`);
    assert.equal((await k(['delete', 'pod', '-n', 'dev', 'too-early', 'patient', 'late-server', '--wait=false'])).code, 0);
    assert.equal((await k(['delete', 'svc', '-n', 'dev', 'late'])).code, 0);
  });

  test('down removes the cluster: network namespaces, mount points, cgroups', { timeout: 180_000 }, async () => {
    const prefix = names(dir).netnsPrefix;
    assert.ok((await listNetns(prefix)).length >= 3);
    await down({ dir });
    assert.deepEqual(await listNetns(prefix), []);
    assert.ok(!existsSync('/etc/creds'), 'mount points the kubelet created are removed');
    for (const root of ['/sys/fs/cgroup/memory', '/sys/fs/cgroup']) {
      if (existsSync(root)) assert.deepEqual(readdirSync(root).filter((d) => d.startsWith(prefix)), []);
    }
  });
}
