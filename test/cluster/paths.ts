// Where one simulated cluster keeps its state on disk, and how its kernel objects are named.
// Everything a cluster creates is derived from its state directory, so `down` can find and
// remove it after a crash, and two clusters (two test files) never share a name.
import { createHash } from 'node:crypto';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function stateDir(dir?: string): string {
  return resolve(dir ?? process.env.TAP_CLUSTER_DIR ?? join(repoRoot, '.cluster'));
}

/** Four hex digits from the state directory: the prefix of every netns this cluster makes. */
export function clusterId(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 4);
}

export interface ClusterNames {
  dir: string;
  id: string;
  /** network namespace holding the bridge that joins the nodes, and the API server's relay */
  fabricNetns: string;
  nodeNetns(index: number): string;
  podNetns(podUid: string): string;
  netnsPrefix: string;
  relaySocket: string;
  /** the API server's second listener, for in-cluster clients (relay.ts forwards to it) */
  apiSocket: string;
  /** the daemon's control socket (add-node, remove-node) */
  controlSocket: string;
  kubeconfig: string;
  statePath: string;
  pkiDir: string;
  logsDir: string;
  podsDir: string;
  dnsHostsDir: string;
  /** mount points the kubelet had to create on the host (removed by `down`) */
  mountPointsFile: string;
}

export function names(dir: string): ClusterNames {
  const id = clusterId(dir);
  const netnsPrefix = `tap-${id}-`;
  return {
    dir,
    id,
    netnsPrefix,
    fabricNetns: `${netnsPrefix}fabric`,
    nodeNetns: (i) => `${netnsPrefix}node${i}`,
    podNetns: (uid) => `${netnsPrefix}p${uid.replace(/-/g, '').slice(0, 10)}`,
    relaySocket: join(dir, 'relay.sock'),
    apiSocket: join(dir, 'apiserver.sock'),
    controlSocket: join(dir, 'control.sock'),
    kubeconfig: join(dir, 'kubeconfig'),
    statePath: join(dir, 'state.json'),
    pkiDir: join(dir, 'pki'),
    logsDir: join(dir, 'logs'),
    podsDir: join(dir, 'pods'),
    dnsHostsDir: join(dir, 'dns'),
    mountPointsFile: join(dir, 'mountpoints'),
  };
}
