// The cluster's network, built with `ip` and `iptables` inside network namespaces only
// (nothing is added to the host's own namespace):
//   fabric netns: a bridge joining the nodes (10.243.0.0/24, the "node network"), plus
//                 routes to every node's pod range; the API server's relay runs here.
//   node N netns: eth0 = 10.243.0.N on the bridge, IP forwarding, routes to other nodes'
//                 pod ranges, a default route to the fabric, kube-proxy's iptables chain, one veth per pod.
//   pod netns:    eth0 = 10.244.N.x/32 with a default route through a link-local gateway
//                 (169.254.1.1, answered by a static neighbour entry), like Calico's
//                 routed model, so every pod-to-pod packet crosses the node's routing and
//                 conntrack (which Service DNAT needs).
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runQuiet } from '../exec.js';

export const NODE_NET = '10.243.0';
export const GATEWAY_MAC = 'ee:ee:ee:ee:ee:ee';
/** The API server's address on the node network (the fabric's bridge), behind the `kubernetes` Service. */
export const API_ADVERTISE_IP = `${NODE_NET}.254`;
export const API_SECURE_PORT = 6443;

export const nodeIp = (i: number) => `${NODE_NET}.${i}`;
export const podCidr = (i: number) => `10.244.${i}.0/24`;

async function ip(args: string[]): Promise<void> {
  await run('ip', args);
}

async function sysctl(netns: string, key: string, value: string): Promise<void> {
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`]);
}

export async function createFabric(fabric: string): Promise<void> {
  await ip(['netns', 'add', fabric]);
  await ip(['-n', fabric, 'link', 'set', 'lo', 'up']);
  await ip(['-n', fabric, 'link', 'add', 'tapbr0', 'type', 'bridge']);
  await ip(['-n', fabric, 'addr', 'add', `${NODE_NET}.254/24`, 'dev', 'tapbr0']);
  await ip(['-n', fabric, 'link', 'set', 'tapbr0', 'up']);
}

/** A node netns on the bridge; `peers` are the other nodes' indexes (routes to their pod ranges). */
export async function createNode(fabric: string, netns: string, i: number, peers: number[]): Promise<void> {
  await ip(['netns', 'add', netns]);
  await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', fabric, 'link', 'add', `tap-n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await ip(['-n', fabric, 'link', 'set', `tap-n${i}`, 'master', 'tapbr0', 'up']);
  await ip(['-n', netns, 'addr', 'add', `${nodeIp(i)}/24`, 'dev', 'eth0']);
  await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
  await sysctl(netns, 'net.ipv4.ip_forward', '1');
  for (const j of peers) if (j !== i) await ip(['-n', netns, 'route', 'add', podCidr(j), 'via', nodeIp(j)]);
  // a default gateway, as a real node has: a hostNetwork process's packet to a ClusterIP needs a
  // route before kube-proxy's OUTPUT DNAT rewrites it (the fabric's bridge address)
  await ip(['-n', netns, 'route', 'add', 'default', 'via', API_ADVERTISE_IP]);
  await ip(['-n', fabric, 'route', 'add', podCidr(i), 'via', nodeIp(i)]);
  await run('ip', ['netns', 'exec', netns, 'iptables-restore', '--noflush'],
    '*nat\n:TAP-SERVICES - [0:0]\n-A PREROUTING -j TAP-SERVICES\n-A OUTPUT -j TAP-SERVICES\nCOMMIT\n' +
    // new connections to a Service port without endpoints are refused there (kubeproxy.ts)
    '*filter\n:TAP-SERVICES - [0:0]\n-A FORWARD -m conntrack --ctstate NEW -j TAP-SERVICES\n-A OUTPUT -m conntrack --ctstate NEW -j TAP-SERVICES\nCOMMIT\n');
}

export interface PodNet {
  netns: string;
  ip: string;
  hostVeth: string;
}

/** The CNI ADD step: a pod netns with a veth to its node and a /32 route to it. */
export async function createPodNetwork(nodeNetns: string, pod: PodNet): Promise<void> {
  await ip(['netns', 'add', pod.netns]);
  await ip(['-n', pod.netns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', nodeNetns, 'link', 'add', pod.hostVeth, 'address', GATEWAY_MAC, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns]);
  await ip(['-n', nodeNetns, 'link', 'set', pod.hostVeth, 'up']);
  await ip(['-n', nodeNetns, 'route', 'add', `${pod.ip}/32`, 'dev', pod.hostVeth]);
  await ip(['-n', pod.netns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
  await ip(['-n', pod.netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', pod.netns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  await ip(['-n', pod.netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  await ip(['-n', pod.netns, 'neigh', 'replace', '169.254.1.1', 'lladdr', GATEWAY_MAC, 'dev', 'eth0', 'nud', 'permanent']);
}

/** Kills every process still inside a netns (they would keep it alive) and removes it. */
export async function deleteNetns(netns: string): Promise<void> {
  await killNetnsProcesses(netns);
  await runQuiet('ip', ['netns', 'del', netns]);
  removeNetnsEtc(netns);
}

export async function killNetnsProcesses(netns: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let pids: string[] = [];
    try {
      pids = (await run('ip', ['netns', 'pids', netns])).split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** /etc/netns/NAME/ files are bind-mounted over /etc by `ip netns exec`: the pod's resolv.conf. */
export function writeNetnsEtc(netns: string, file: string, content: string): void {
  const dir = join('/etc/netns', netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), content);
}

function removeNetnsEtc(netns: string): void {
  rmSync(join('/etc/netns', netns), { recursive: true, force: true });
}

export async function listNetns(prefix: string): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']).catch(() => '');
  const fromIp = out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix));
  const fromEtc = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)) : [];
  return [...new Set([...fromIp, ...fromEtc])];
}

/** Replaces kube-proxy's rules in one node: the TAP-SERVICES chains (nat and filter) and the per-service chains. */
export async function applyServiceRules(nodeNetns: string, rules: string): Promise<void> {
  await run('ip', ['netns', 'exec', nodeNetns, 'iptables-restore', '--noflush'], rules);
}
