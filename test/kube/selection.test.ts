// Which pods a session taps (stern's TYPE/NAME, regexes, label selectors) and the stack's
// rendering (names, quantities, the reaper's timing): the parts of the CLI that need no
// cluster. The cluster itself is in tap.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { compileLabelSelector, parseQuery } from '../../src/kube/targets.js';
import { renderStack, reaperStaleSeconds, stackYaml, type StackOptions } from '../../src/kube/manifests.js';
import { detectSidecar, parseMeshMode, sidecarFor } from '../../src/kube/mesh-detect.js';
import { referencesNames, isNoise } from '../../src/kube/session.js';
import type { Entry } from '../../src/entry.js';
import { compileShorthands, joinClauses } from '../../src/kube/shorthand.js';

test('TYPE/NAME as stern takes it, and anything else is a pod-name regex', () => {
  assert.deepEqual(parseQuery('deploy/cart'), { workload: { kind: 'deployment', name: 'cart' } });
  assert.deepEqual(parseQuery('sts/db'), { workload: { kind: 'statefulset', name: 'db' } });
  assert.deepEqual(parseQuery('svc/frontend'), { workload: { kind: 'service', name: 'frontend' } });
  assert.deepEqual(parseQuery('ds/x'), { workload: { kind: 'daemonset', name: 'x' } });
  assert.ok(parseQuery('pod/a.b').podRegex!.test('a.b'));
  assert.ok(!parseQuery('pod/a.b').podRegex!.test('axb'), 'pod/NAME is the exact name');
  assert.ok(parseQuery('^front').podRegex!.test('frontend-1'));
  assert.ok(parseQuery('unknown/thing').podRegex, 'an unknown TYPE is part of a regex');
  assert.throws(() => parseQuery('('), UsageError);
});

test('label selectors in kubectl syntax', () => {
  const sel = compileLabelSelector('app=cart,tier!=db,env in (prod, staging),!canary,team')!;
  assert.ok(sel({ app: 'cart', env: 'prod', team: 'a' }));
  assert.ok(!sel({ app: 'cart', env: 'prod', team: 'a', canary: 'y' }));
  assert.ok(!sel({ app: 'cart', env: 'dev', team: 'a' }));
  assert.ok(!sel({ app: 'cart', env: 'prod', team: 'a', tier: 'db' }));
  assert.ok(!sel({ app: 'cart', env: 'prod' }), 'team must exist');
  assert.ok(compileLabelSelector('env notin (dev)')!({}));
  assert.equal(compileLabelSelector(undefined), undefined);
  assert.throws(() => compileLabelSelector('a=b,=c'), /invalid label selector/);
});

test('filters that read resolved names stay in the CLI, the rest go to the nodes; kubelet probes are noise', () => {
  assert.equal(referencesNames('dst.service = "cart"'), true);
  assert.equal(referencesNames('src.workload = "deployment/x" or protocol = "dns"'), true);
  assert.equal(referencesNames('response.status >= 500'), false);
  assert.equal(referencesNames('request.headers."x-name" = "a"'), false);
  const entry = (agent: unknown) => ({ request: { headers: { 'user-agent': agent } } }) as unknown as Entry;
  assert.equal(isNoise(entry('kube-probe/1.30')), true);
  assert.equal(isNoise(entry('curl/8.5.0')), false);
  assert.equal(isNoise(entry(undefined)), false);
  assert.equal(isNoise({ request: {} } as unknown as Entry), false);
});

const base: StackOptions = {
  namespace: 'kubectl-tap', image: 'kubectl-tap/tapper:0.1.0', token: 'tok', memoryBytes: 256 * 1024 * 1024, cpu: '500m',
  nodeSelector: { pool: 'a' }, tolerations: [{ key: 'x', operator: 'Exists' }], imagePullSecrets: ['regcred'], priorityClass: 'high',
  mesh: 'off', preinstalled: false, orphanSeconds: 600, sessionId: 's1', maxBody: 65536, maxMessages: 100, redact: false,
  redactHeaders: [], protoBundle: null, maxRate: 0,
};

test('the stack: values in place, structures set on the objects, the reaper before the tappers it owns', () => {
  const objects = renderStack(base);
  assert.deepEqual(objects.map((o) => o.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Job', 'ServiceAccount', 'Secret', 'DaemonSet']);
  for (const o of objects) {
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'kubectl-tap', o.kind);
    assert.equal(o.metadata.annotations?.['kubectl-tap.io/session'], 's1', o.kind);
  }
  const ds = objects.find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  assert.deepEqual(pod.nodeSelector, { pool: 'a' });
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }, { key: 'x', operator: 'Exists' }]);
  assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
  assert.equal(pod.priorityClassName, 'high');
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.volumes.find((v: any) => v.name === 'session').secret.defaultMode, 0o400);
  const c = pod.containers[0];
  assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '256Mi' });
  assert.deepEqual(c.args, ['--listen', '0.0.0.0:8449', '--token-file', '/var/run/kubectl-tap/token', '--memory-budget', '179MiB', '--max-body', '65536', '--max-messages', '100', '--no-redact']);
  assert.deepEqual(c.securityContext.capabilities.add, ['NET_RAW', 'NET_ADMIN']);
  const job = objects.find((o) => o.kind === 'Job')!;
  assert.equal(job.spec.activeDeadlineSeconds, 600);
  assert.deepEqual(job.spec.template.spec.containers[0].args, ['reap', '--namespace', 'kubectl-tap', '--stale-after', String(reaperStaleSeconds(600))]);
  assert.equal(reaperStaleSeconds(45), 30);
  // The YAML printed is the objects, exactly.
  assert.match(stackYaml(objects), /^---\napiVersion: v1\nkind: Namespace\n/);
});

test('--redact-header and --proto reach the tappers: arguments, and the types in the session Secret', () => {
  const bundle = JSON.stringify({ nested: { shop: { nested: {} } } });
  const objects = renderStack({ ...base, redactHeaders: ['x-user', 'cookie2'], protoBundle: bundle });
  const args: string[] = objects.find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0].args;
  assert.deepEqual(args.slice(-6), ['--redact-header', 'x-user', '--redact-header', 'cookie2', '--proto', '/var/run/kubectl-tap/protos.json']);
  const secret = objects.find((o) => o.kind === 'Secret')!;
  assert.equal(secret.stringData['protos.json'], bundle);
  assert.equal(secret.stringData.token, 'tok');
  assert.ok(!renderStack(base).find((o) => o.kind === 'Secret')!.stringData['protos.json'], 'no protos: no key');
  assert.throws(() => renderStack({ ...base, protoBundle: 'x'.repeat(1024 * 1024) }), /more than the 921600 a session Secret carries/);
});

test('the stack refuses what cannot work', () => {
  assert.throws(() => renderStack({ ...base, namespace: 'Not_Valid' }), /not a valid namespace name/);
  assert.throws(() => renderStack({ ...base, orphanSeconds: 20 }), /--orphan-timeout must be 0 \(no self-removal\) or at least 45s/);
  assert.deepEqual(renderStack({ ...base, orphanSeconds: 0 }).map((o) => o.kind), ['Namespace', 'ServiceAccount', 'Secret', 'DaemonSet']);
  const capabilities = (mesh: StackOptions['mesh']) => renderStack({ ...base, mesh }).find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0].securityContext.capabilities.add;
  assert.deepEqual(capabilities('auto'), ['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE']);
  assert.deepEqual(capabilities('on'), ['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE']);
  assert.deepEqual(capabilities('off'), ['NET_RAW', 'NET_ADMIN']);
});

test('mesh detection: proxy containers, native sidecars, injector annotations; --mesh on and off', () => {
  const pod = (spec: object, annotations: Record<string, string> = {}) => ({ metadata: { annotations }, spec: { containers: [{ name: 'app' }], ...spec } });
  assert.equal(detectSidecar(pod({ containers: [{ name: 'app' }, { name: 'istio-proxy' }] })), 'istio');
  assert.equal(detectSidecar(pod({ containers: [{ name: 'app' }, { name: 'linkerd-proxy' }] })), 'linkerd');
  // A native sidecar is an init container that keeps running; a plain init container is not one.
  assert.equal(detectSidecar(pod({ initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }] })), 'istio');
  assert.equal(detectSidecar(pod({ initContainers: [{ name: 'linkerd-proxy' }] })), null);
  assert.equal(detectSidecar(pod({}, { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' })), 'istio');
  assert.equal(detectSidecar(pod({}, { 'linkerd.io/proxy-version': 'edge-24.1.1' })), 'linkerd');
  // Asking for injection is not being injected.
  assert.equal(detectSidecar(pod({}, { 'sidecar.istio.io/inject': 'true' })), null);
  assert.equal(detectSidecar(pod({ hostNetwork: true, containers: [{ name: 'istio-proxy' }] })), null);
  const plain = pod({});
  const meshed = pod({ containers: [{ name: 'app' }, { name: 'istio-proxy' }] });
  assert.deepEqual([sidecarFor(plain, 'auto'), sidecarFor(meshed, 'auto')], [null, 'istio']);
  assert.deepEqual([sidecarFor(plain, 'on'), sidecarFor(meshed, 'on')], ['other', 'istio']);
  assert.deepEqual([sidecarFor(plain, 'off'), sidecarFor(meshed, 'off')], [null, null]);
  assert.throws(() => parseMeshMode('yes'), /--mesh must be one of auto, on, off, not "yes"/);
});

test('shorthand filters compile to JSONata: values of a flag are alternatives, names stay in the CLI', () => {
  const none = { protocol: [], httpStatus: [], method: [], pathPrefix: [], fromPod: [], toPod: [], fromService: [], toService: [], fromNamespace: [], toNamespace: [] };
  const clauses = compileShorthands({ ...none, protocol: ['http', 'grpc'], httpStatus: ['5xx', '404'], method: ['post'], pathPrefix: ['/api'], fromPod: ['shop/front'], toService: ['cart'], toNamespace: ['shop'] });
  assert.deepEqual(clauses, [
    { jsonata: '(protocol = "http" or protocol = "grpc")', needsNames: false },
    { jsonata: '((response.status >= 500 and response.status < 600) or response.status = 404)', needsNames: false },
    { jsonata: 'request.method = "POST"', needsNames: false },
    { jsonata: '$substring(request.path, 0, 4) = "/api"', needsNames: false },
    { jsonata: '(src.namespace = "shop" and $substring(src.pod, 0, 5) = "front")', needsNames: true },
    { jsonata: 'dst.service = "cart"', needsNames: true },
    { jsonata: 'dst.namespace = "shop"', needsNames: true },
  ]);
  assert.equal(joinClauses(['a = 1', undefined, 'b = 2']), '(a = 1) and (b = 2)');
  assert.equal(joinClauses([undefined]), undefined);
  assert.throws(() => compileShorthands({ ...none, httpStatus: ['6xx'] }), UsageError);
});
