// The tapper tests' network, made by the test and removed after it: one "node" namespace
// (IP forwarding, a ClusterIP DNAT rule as kube-proxy writes it) with "pod" namespaces
// behind veths, routed as in Calico's model (a /32 per pod, a link-local gateway), so a
// pod-to-pod packet crosses two interfaces of the node and a call to the ClusterIP is seen
// before and after DNAT. The tapper runs in the node namespace as a real process, reached
// from here through a relay on a Unix socket (test/cluster/net/relay.ts); nothing is added
// to the host's own namespace, and all traffic stays inside these namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runQuiet } from '../cluster/exec.js';
import { killNetnsProcesses } from '../cluster/net/plumbing.js';
import { repoRoot } from '../helpers/cli.js';

const GATEWAY_MAC = 'ee:ee:ee:ee:ee:ee';

export interface Pod {
  name: string;
  netns: string;
  ip: string;
  hostVeth: string;
}

export interface Topology {
  id: string;
  dir: string;
  nodeNetns: string;
  pods: Record<string, Pod>;
  serviceIp: string;
  relaySocket: string;
  /** Starts `cmd args` inside a namespace; killed at teardown. */
  spawnIn(netns: string, cmd: string, args: string[]): ChildProcess;
  teardown(): Promise<void>;
}

export async function buildTopology(podNames: string[]): Promise<Topology> {
  const id = `tt${process.pid.toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-tap-tapper-'));
  const nodeNetns = `${id}-node`;
  // 10.250.0.0/16 lives only inside these namespaces; the third octet keeps two runs apart in logs.
  const net = `10.250.${process.pid % 250}`;
  const pods: Record<string, Pod> = {};
  const children = new Set<ChildProcess>();
  const namespaces = [nodeNetns, ...podNames.map((n) => `${id}-${n}`)];

  const teardown = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of namespaces) {
      await killNetnsProcesses(ns);
      await runQuiet('ip', ['netns', 'del', ns]);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await run('ip', ['netns', 'add', nodeNetns]);
    await run('ip', ['-n', nodeNetns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['netns', 'exec', nodeNetns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    let host = 2;
    for (const name of podNames) {
      const pod: Pod = { name, netns: `${id}-${name}`, ip: `${net}.${host++}`, hostVeth: `${id.slice(0, 8)}${name}`.slice(0, 15) };
      await run('ip', ['netns', 'add', pod.netns]);
      await run('ip', ['-n', pod.netns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', nodeNetns, 'link', 'add', pod.hostVeth, 'address', GATEWAY_MAC, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns]);
      await run('ip', ['-n', nodeNetns, 'link', 'set', pod.hostVeth, 'up']);
      await run('ip', ['-n', nodeNetns, 'route', 'add', `${pod.ip}/32`, 'dev', pod.hostVeth]);
      await run('ip', ['-n', pod.netns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
      await run('ip', ['-n', pod.netns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', pod.netns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await run('ip', ['-n', pod.netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await run('ip', ['-n', pod.netns, 'neigh', 'replace', '169.254.1.1', 'lladdr', GATEWAY_MAC, 'dev', 'eth0', 'nud', 'permanent']);
      pods[name] = pod;
    }
    const topology: Topology = {
      id,
      dir,
      nodeNetns,
      pods,
      serviceIp: `10.96.${process.pid % 250}.20`,
      relaySocket: join(dir, 'relay.sock'),
      spawnIn(netns, cmd, args) {
        const child = spawn('ip', ['netns', 'exec', netns, cmd, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        child.on('exit', () => children.delete(child));
        return child;
      },
      teardown,
    };
    const relay = topology.spawnIn(nodeNetns, process.execPath, ['--import', 'tsx', 'test/cluster/net/relay.ts', topology.relaySocket]);
    await waitForLine(relay, /relay listening/);
    return topology;
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** kube-proxy's rule: the ClusterIP's port DNATs to one endpoint, in PREROUTING and OUTPUT. */
export async function addClusterIp(t: Topology, servicePort: number, endpoint: string, targetPort: number, protocol = 'tcp'): Promise<void> {
  for (const chain of ['PREROUTING', 'OUTPUT']) {
    await run('ip', ['netns', 'exec', t.nodeNetns, 'iptables', '-t', 'nat', '-A', chain, '-d', `${t.serviceIp}/32`, '-p', protocol,
      '--dport', String(servicePort), '-j', 'DNAT', '--to-destination', `${endpoint}:${targetPort}`]);
  }
}

export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${seen.slice(-500)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before a line matching ${pattern}: ${seen.slice(-500)}`));
    });
  });
}
