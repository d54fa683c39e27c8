// One simulated cluster (test/cluster/, with the shop) shared by every test file that can
// share it: scripts/run-tests.mjs sees this helper imported, brings the cluster up once before
// the run and down after it. A file run on its own (node --test FILE) gets a cluster of its
// own, down after its tests. Tests on a shared cluster must leave it as they found it (their
// own namespaces, deleted at the end) and must not take it down. The files take turns (one
// at a time on the shared cluster, beside files that do not use it): each installs a stack of
// ours, whose tappers listen on the nodes' port 8449 (hostNetwork), and two stacks on one
// node answered each other's requests (another session's token refused, its entries taken).
//
//   const cluster = await sharedCluster(t);   // undefined: skipped (not root, no kubectl)
//   if (!cluster) return;
//   kubectl(cluster.kubeconfig, ['get', 'pods', '-A']);
import { after, before, type TestContext } from 'node:test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const sharedDir = process.env.KUBECTL_TAP_TEST_CLUSTER_DIR;
const turnLock = sharedDir ? join(sharedDir, 'turn.lock') : undefined;

// Registered at import, at the file's top level: the turn is taken before the file's first
// test (waiting is not any test's time) and given back after its last.
before(async () => {
  if (turnLock) await takeTurn(turnLock);
}, { timeout: 1_500_000 });

after(async () => {
  if (turnLock) giveBackTurn(turnLock);
  if (ownDir) await down({ dir: ownDir });
}, { timeout: 60_000 });

/** An mkdir lock holding its owner's pid; an owner that died (a file killed by its timeout) loses it. */
async function takeTurn(lock: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // just made, its pid not written yet: wait
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, 250));
  }
}

function giveBackTurn(lock: string): void {
  try {
    if (Number(readFileSync(join(lock, 'pid'), 'utf8')) === process.pid) rmSync(lock, { recursive: true, force: true });
  } catch {
    // not ours, or gone already
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
