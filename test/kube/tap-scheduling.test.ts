// Where the tappers go, and what happens when they cannot go anywhere: --node-selector narrows
// the DaemonSet to the nodes it names (only their traffic is captured), and tappers that no
// node can hold (more memory than any node has) are a FailedScheduling event the CLI reports as
// one line, after which the stack is removed and the exit code is 1. With the real kubectl tap
// against the shared simulated cluster (two nodes, the shop).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubectl } from '../cluster/kubectl.js';
import { sharedCluster } from '../helpers/shared-cluster.js';
import { ourObjects, startTap, stopTap, waitForLines } from './live.js';

type Json = Record<string, any>;

test('--node-selector: one tapper, on the node it names, and only that node\'s captures', { timeout: 240_000 }, async (t) => {
  const cluster = await sharedCluster(t);
  if (!cluster) return;
  const tapNs = 'kubectl-tap-node-selector';
  const tap = startTap(cluster.kubeconfig, ['-n', 'shop', '--tap-namespace', tapNs, '--node-selector', 'kubernetes.io/hostname=tap-node-1']);
  try {
    await waitForLines(tap, '20 entries', (lines) => lines.length >= 20, 120_000);
    const ds = JSON.parse((await kubectl(cluster.kubeconfig, ['get', 'daemonset', '-n', tapNs, 'kubectl-tap-tapper', '-o', 'json'])).stdout);
    assert.equal(ds.status.desiredNumberScheduled, 1, 'one node matches');
    const pods = JSON.parse((await kubectl(cluster.kubeconfig, ['get', 'pods', '-n', tapNs, '-l', 'app.kubernetes.io/component=tapper', '-o', 'json'])).stdout);
    assert.deepEqual(pods.items.map((p: Json) => p.spec.nodeName), ['tap-node-1']);
  } finally {
    assert.equal(await stopTap(tap), 0, tap.stderr());
  }
  const entries: Json[] = tap.lines.map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(entries.map((e) => e.node))], ['tap-node-1']);
  assert.ok(!(await ourObjects(cluster.kubeconfig)).some((o) => o.endsWith(`/${tapNs}`)), 'the stack is gone');
});

test('tappers no node can hold: FailedScheduling as one line, the stack rolled back, exit 1', { timeout: 180_000 }, async (t) => {
  const cluster = await sharedCluster(t);
  if (!cluster) return;
  const tapNs = 'kubectl-tap-unschedulable';
  const tap = startTap(cluster.kubeconfig, ['-n', 'shop', '--tap-namespace', tapNs, '--tapper-memory', '100000Gi', '-q']);
  const timer = setTimeout(() => tap.child.kill('SIGKILL'), 150_000);
  const code = await tap.exited;
  clearTimeout(timer);
  assert.equal(code, 1, tap.stderr());
  const lines = tap.stderr().trim().split('\n');
  const reported = lines.filter((l) => /FailedScheduling/.test(l));
  assert.equal(reported.length, 1, tap.stderr());
  assert.match(reported[0]!, /Insufficient memory/);
  assert.deepEqual(tap.lines, [], 'no entries');
  assert.ok(!(await ourObjects(cluster.kubeconfig)).some((o) => o.endsWith(`/${tapNs}`)), 'rolled back');
});
