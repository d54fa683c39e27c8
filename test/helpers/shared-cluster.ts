// One simulated cluster (test/cluster/, with the shop) shared by every test file that can
// share it: scripts/run-tests.mjs sees this helper imported, brings the cluster up once before
// the run and down after it. A file run on its own (node --test FILE) gets a cluster of its
// own, down after its tests. Tests on a shared cluster must leave it as they found it (their
// own namespaces, deleted at the end) and must not take it down.
//
//   const cluster = await sharedCluster(t);   // undefined: skipped (not root, no kubectl)
//   if (!cluster) return;
//   kubectl(cluster.kubeconfig, ['get', 'pods', '-A']);
import { after, type TestContext } from 'node:test';
import { basename, join } from 'node:path';
import { down, up } from '../cluster/cluster.js';
import { repoRoot } from '../cluster/paths.js';
import { root, skipUnless, tool } from './requirements.js';

export interface SharedCluster {
  dir: string;
  kubeconfig: string;
}

let own: Promise<SharedCluster> | undefined;
let ownDir: string | undefined;

// Registered at import, at the file's top level, so that it runs after all of the file's tests.
after(async () => {
  if (ownDir) await down({ dir: ownDir });
}, { timeout: 60_000 });

export async function sharedCluster(t: TestContext): Promise<SharedCluster | undefined> {
  if (skipUnless(t, root, tool('kubectl', 'version', '--client'))) return undefined;
  if (process.env.KUBECTL_TAP_TEST_CLUSTER_ERROR) throw new Error(`the shared simulated cluster did not come up: ${process.env.KUBECTL_TAP_TEST_CLUSTER_ERROR}`);
  const dir = process.env.KUBECTL_TAP_TEST_CLUSTER_DIR;
  if (dir) return { dir, kubeconfig: process.env.KUBECTL_TAP_TEST_KUBECONFIG ?? join(dir, 'kubeconfig') };
  own ??= bringUpOwn();
  return own;
}

async function bringUpOwn(): Promise<SharedCluster> {
  const dir = join(repoRoot, '.cluster', 'tests', basename(process.argv[1] ?? 'standalone').replace(/\W+/g, '-'));
  ownDir = dir;
  const r = await up({ dir, nodes: 2, shop: true, timeoutMs: 180_000 });
  return { dir, kubeconfig: r.kubeconfig };
}
