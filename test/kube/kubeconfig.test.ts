// kubectl's kubeconfig rules, on real files: KUBECONFIG lists several files, the first to
// set a name or the current context wins, --context/--cluster/--user override, the context's
// namespace is the default, and bad input is one clear UsageError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadConnection, parseRequestTimeout } from '../../src/kube/kubeconfig.js';
import { UsageError } from '../../src/errors.js';

function config(name: string, server: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name, cluster: { server } }],
    users: [{ name, user: { token: `token-${name}` } }],
    contexts: [{ name, context: { cluster: name, user: name, ...extra } }],
    ...(extra.current ? { 'current-context': name } : {}),
  };
}

test('KUBECONFIG with several files: merged, the first current-context and the first definition of a name win', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-kubeconfig-'));
  try {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, yaml.dump(config('alpha', 'https://alpha.example:6443', { namespace: 'shop', current: true })));
    // b defines "alpha" again (ignored, as kubectl does) and adds "beta"; its current-context loses.
    const bConfig = config('beta', 'https://beta.example:6443', { current: true });
    bConfig.clusters.push({ name: 'alpha', cluster: { server: 'https://wrong.example' } });
    writeFileSync(b, yaml.dump(bConfig));
    const env = { KUBECONFIG: `${a}:${b}:${join(dir, 'missing.yaml')}` };

    const conn = loadConnection({}, env);
    assert.equal(conn.contextName, 'alpha');
    assert.equal(conn.server, 'https://alpha.example:6443');
    assert.equal(conn.namespace, 'shop');

    const beta = loadConnection({ context: 'beta' }, env);
    assert.equal(beta.server, 'https://beta.example:6443');
    assert.equal(beta.namespace, 'default', 'a context without a namespace means default');

    // --cluster and --user replace the context's parts.
    const mixed = loadConnection({ context: 'alpha', cluster: 'beta', user: 'beta' }, env);
    assert.equal(mixed.server, 'https://beta.example:6443');
    assert.equal(mixed.kc.getCurrentUser()?.name, 'beta');
    assert.equal(mixed.namespace, 'shop');

    assert.throws(() => loadConnection({ context: 'gamma' }, env), (e: unknown) => e instanceof UsageError && /context "gamma" not found/.test(e.message));
    assert.throws(() => loadConnection({ user: 'nobody' }, env), /user "nobody" not found/);
    assert.throws(() => loadConnection({ kubeconfig: join(dir, 'nope') }, env), /--kubeconfig .*nope: no such file/);
    assert.throws(() => loadConnection({}, { HOME: dir }), /no kubeconfig/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--request-timeout takes kubectl durations', () => {
  assert.equal(parseRequestTimeout('0'), 0);
  assert.equal(parseRequestTimeout('30'), 30_000);
  assert.equal(parseRequestTimeout('1m'), 60_000);
  assert.equal(parseRequestTimeout('500ms'), 500);
  assert.throws(() => parseRequestTimeout('soon'), UsageError);
});
