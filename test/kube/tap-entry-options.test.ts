// The entry options of a live session reach the engine on the nodes: --proto (the CLI bundles
// the types into the session Secret, the tappers decode gRPC messages by name) and
// --redact-header (the tappers redact it besides the default headers). With the real kubectl
// tap against the shared simulated cluster's shop, whose frontend calls catalog and cart over
// gRPC and is called by the load generator over HTTP/1.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedCluster } from '../helpers/shared-cluster.js';
import { repoRoot } from '../cluster/paths.js';
import { ourObjects, startTap } from './live.js';

type Json = Record<string, any>;

test('--proto and --redact-header in a live session: gRPC messages by name, the header redacted on the nodes', { timeout: 240_000 }, async (t) => {
  const cluster = await sharedCluster(t);
  if (!cluster) return;
  const tap = startTap(cluster.kubeconfig, [
    '-n', 'shop', '--tap-namespace', 'kubectl-tap-entry-options', '--duration', '25s',
    '--proto', `${repoRoot}/test/cluster/shop/shop.proto`, '--redact-header', 'Host',
  ]);
  const timer = setTimeout(() => tap.child.kill('SIGKILL'), 200_000);
  const code = await tap.exited;
  clearTimeout(timer);
  assert.equal(code, 0, tap.stderr());
  const entries: Json[] = tap.lines.map((l) => JSON.parse(l));

  const grpc = entries.filter((e) => e.protocol === 'grpc' && e.request.messages?.length > 0);
  assert.ok(grpc.length > 0, `no gRPC calls with messages among ${entries.length} entries`);
  const typed = grpc.filter((e) => typeof e.request.messages[0].type === 'string' && e.request.messages[0].type.startsWith('shop.'));
  assert.ok(typed.length > 0, `no gRPC message decoded by name: ${JSON.stringify(grpc[0].request.messages[0])}`);
  for (const e of typed) assert.equal(e.request.messages[0].schemaError, undefined, `${e.request.path}: ${e.request.messages[0].schemaError}`);

  const http = entries.filter((e) => e.protocol === 'http' && e.request.headers?.host !== undefined);
  assert.ok(http.length > 0, 'no HTTP/1.x calls with a Host header');
  for (const e of http) assert.equal(e.request.headers.host, '[REDACTED]', `${e.summary}: Host not redacted`);
  assert.ok(!(await ourObjects(cluster.kubeconfig)).some((o) => o.endsWith('/kubectl-tap-entry-options')), 'the stack is gone');
});

test('--proto with a file that does not exist: one line, exit 2, nothing installed', { timeout: 120_000 }, async (t) => {
  const cluster = await sharedCluster(t);
  if (!cluster) return;
  const tap = startTap(cluster.kubeconfig, ['-n', 'shop', '--tap-namespace', 'kubectl-tap-entry-options-bad', '--proto', '/nonexistent/shop.proto']);
  assert.equal(await tap.exited, 2);
  assert.match(tap.stderr().trim(), /^kubectl tap: --proto \/nonexistent\/shop\.proto: no such file or folder$/);
  assert.deepEqual((await ourObjects(cluster.kubeconfig)).filter((o) => o.includes('entry-options')), []);
});
