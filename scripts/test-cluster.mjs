// The shared simulated cluster of a test run (see scripts/run-tests.mjs): brought up once,
// before the files that import test/helpers/shared-cluster.ts, and down after all of them.
// Its directory goes to them in KUBECTL_TAP_TEST_CLUSTER_DIR; if it could not come up, the reason
// goes in KUBECTL_TAP_TEST_CLUSTER_ERROR and those files fail with it (or skip when not root).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

// TEST_CLUSTER_DIR: another place, for the runner's own test, which runs a runner inside a run.
const dir = resolve(process.env.TEST_CLUSTER_DIR ?? join('.cluster', 'tests', 'shared'));

function cli(args) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'test/cluster/cli.ts', ...args, '--dir', dir], { encoding: 'utf8', timeout: 180_000 });
}

export async function bringUpSharedCluster(users) {
  if (process.getuid?.() !== 0) return { env: {}, stop: async () => {} }; // the files skip (needs root)
  const started = Date.now();
  console.log(`shared simulated cluster for ${users.length} file(s): bringing it up in ${dir}`);
  const r = cli(['up']);
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-3).join(' | ');
    console.log(`shared simulated cluster did not come up: ${why}`);
    cli(['down']);
    return { env: { KUBECTL_TAP_TEST_CLUSTER_ERROR: why }, stop: async () => {} };
  }
  console.log(`shared simulated cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    env: { KUBECTL_TAP_TEST_CLUSTER_DIR: dir, KUBECTL_TAP_TEST_KUBECONFIG: join(dir, 'kubeconfig') },
    stop: async () => {
      const down = cli(['down']);
      if (down.status !== 0) console.log(`shared simulated cluster: down failed: ${down.stderr.trim()}`);
    },
  };
}
