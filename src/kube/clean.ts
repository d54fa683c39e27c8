// `kubectl tap clean`: every stack of ours found by label (namespaces labelled
// app.kubernetes.io/managed-by=kubectl-tap, and reaper RBAC whose namespace is gone), removed
// and waited for. Pre-installed stacks are kept unless --all.
import { KubeClient } from './client.js';
import { STALE_AFTER_MS } from './heartbeat.js';
import { loadConnection, type ConnectionFlags } from './kubeconfig.js';
import { Progress } from './progress.js';
import { deleteStack, describeObject, findStacks, objectPath } from './stack.js';

export async function runClean(req: { connection: ConnectionFlags; all: boolean; quiet: boolean }): Promise<number> {
  const conn = loadConnection(req.connection);
  const client = new KubeClient(conn.kc, conn.requestTimeoutMs);
  const progress = new Progress(false);
  try {
    const { stacks, orphans } = await findStacks(client);
    let code = 0;
    let removed = 0;
    for (const stack of stacks) {
      if (stack.preinstalled && !req.all) {
        progress.warn(`kept the pre-installed stack in namespace ${stack.namespace} (--all removes it)`);
        continue;
      }
      const live = stack.heartbeatAgeMs !== undefined && stack.heartbeatAgeMs < STALE_AFTER_MS ? ` (its session was live: heartbeat ${Math.floor(stack.heartbeatAgeMs / 1000)} s ago)` : '';
      const result = await deleteStack(client, stack.namespace, stack.clusterScoped, { onWait: (left) => progress.status(`waiting for ${left.join(', ')} to go`) });
      progress.clearStatus();
      removed += result.removed.length;
      if (result.removed.length > 0) progress.warn(`removed ${result.removed.join(', ')}${live}`);
      if (result.remaining.length > 0) {
        progress.warn(`still there after 60 s: ${result.remaining.join(', ')}`);
        code = 1;
      }
    }
    for (const obj of orphans) {
      if (obj.metadata.labels?.['kubectl-tap.io/preinstalled'] === 'true' && !req.all) continue;
      if (await client.delete(objectPath(obj))) {
        removed += 1;
        progress.warn(`removed ${describeObject(obj)}`);
      }
    }
    if (removed === 0 && !req.quiet) progress.warn('nothing of kubectl tap found in the cluster');
    return code;
  } finally {
    client.close();
  }
}
