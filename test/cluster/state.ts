// The on-disk record of a running cluster (state.json) and the teardown that works from it
// alone, so `down` cleans up after a crashed daemon: every process inside the cluster's
// network namespaces, the namespaces themselves (which removes their veths and iptables
// rules), the /etc/netns files, and the state directory.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listNetns, deleteNetns } from './net/plumbing.js';
import { removeMountPoints } from './controllers/mountns.js';
import { removeCgroups } from './controllers/cgroups.js';

export interface ClusterState {
  pid: number;
  dir: string;
  id: string;
  netnsPrefix: string;
  ready: boolean;
  port?: number;
  pids: number[];
  nodes?: string[];
}

export function readState(statePath: string): ClusterState | undefined {
  if (!existsSync(statePath)) return undefined;
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function teardown(state: Pick<ClusterState, 'netnsPrefix' | 'pids'>, mountPointsFile?: string): Promise<string[]> {
  for (const pid of state.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const all = await listNetns(state.netnsPrefix);
  // pods first, then nodes, then the fabric: processes never outlive their namespace
  const order = (x: string) => (x.endsWith('fabric') ? 2 : /node\d+$/.test(x) ? 1 : 0);
  all.sort((a, b) => order(a) - order(b));
  for (let i = 0; i < all.length; i += 8) await Promise.all(all.slice(i, i + 8).map((ns) => deleteNetns(ns)));
  if (mountPointsFile) removeMountPoints(mountPointsFile);
  removeCgroups(state.netnsPrefix);
  if (existsSync('/etc/netns')) {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(state.netnsPrefix)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  }
  return all;
}
