// Finds a pod's network namespace on this node through the host's /proc (the DaemonSet mounts
// it read-only at /host/proc): every process's /proc/PID/ns/net names its namespace, and the
// pod's is the namespace that holds the pod's IP as a local address (/proc/PID/net/fib_trie
// for IPv4, /proc/PID/net/if_inet6 for IPv6; the CNI plugin puts it there on every cluster)
// and has a process showing the pod's identity: the pod UID in its cgroup path (a real
// kubelet's kubepods-...-pod<UID>.slice or /kubepods/.../pod<UID>) or HOSTNAME=<pod name> in
// its environment (containerd and CRI-O set it, as does the simulated cluster's kubelet, whose
// cgroups do not carry the UID). The IP alone is not enough: on the machine the tests run on,
// other clusters' pod namespaces hold the same addresses. Reading another process's ns link and
// environment takes ptrace read access: SYS_PTRACE, as the pod's processes usually hold
// capabilities the tapper does not.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PodNetns {
  /** A path that opens the namespace while that process lives: HOSTPROC/PID/ns/net. */
  path: string;
  pid: number;
  /** The namespace's inode ("net:[4026532871]"): the same namespace whatever process names it. */
  inode: string;
}

export interface ScanResult {
  /** Local IP -> the namespace holding it, for the IPs asked about. */
  found: Map<string, PodNetns>;
  /** Processes whose ns link we may not read (EACCES/EPERM: no SYS_PTRACE, or another user namespace's). */
  denied: number;
  /** Processes read in namespaces other than our own: none, with some denied, means no SYS_PTRACE. */
  foreign: number;
}

/** Who a pod is, as its processes show it: the kubelet's cgroup path has the UID, the runtime's HOSTNAME the pod name. */
export interface PodIdentity {
  uid: string;
  name: string;
}

/** Processes of one namespace looked at to confirm whose it is. */
const IDENTITY_PROCESSES = 32;

export class NetnsFinder {
  /** inode -> its local IPs: a namespace's addresses are read once, not once per process. */
  private readonly addressesByInode = new Map<string, string[]>();

  constructor(readonly hostProc: string) {}

  /**
   * One pass over the host's processes, looking for the namespaces of the pods in `wanted`
   * (by pod IP). A namespace holding the IP is the pod's only when one of its processes shows
   * the pod's identity: another namespace can hold the same address (a second cluster or a
   * container runtime's network on the same host, as in the simulated cluster's test runs).
   */
  scan(wanted: Map<string, PodIdentity>, ownInode: string | null): ScanResult {
    const found = new Map<string, PodNetns>();
    let denied = 0;
    let foreign = 0;
    let pids: string[];
    try {
      pids = readdirSync(this.hostProc).filter((d) => /^\d+$/.test(d));
    } catch {
      return { found, denied, foreign };
    }
    const pidsByInode = new Map<string, string[]>();
    for (const pid of pids) {
      let inode: string;
      try {
        inode = readlinkSync(`${this.hostProc}/${pid}/ns/net`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') denied += 1;
        continue; // ENOENT: the process ended meanwhile
      }
      if (inode === ownInode) continue;
      foreign += 1;
      const list = pidsByInode.get(inode);
      if (list === undefined) pidsByInode.set(inode, [pid]);
      else list.push(pid);
    }
    for (const [inode, inodePids] of pidsByInode) {
      let addresses = this.addressesByInode.get(inode);
      if (addresses === undefined) {
        addresses = [];
        for (const pid of inodePids.slice(0, 3)) {
          addresses = readAddresses(`${this.hostProc}/${pid}/net`);
          if (addresses.length > 0) break; // empty: that process ended, try another
        }
        if (addresses.length === 0) continue;
        this.addressesByInode.set(inode, addresses);
      }
      for (const ip of addresses) {
        const pod = wanted.get(ip);
        if (pod === undefined || found.has(ip)) continue;
        const pid = inodePids.slice(0, IDENTITY_PROCESSES).find((p) => this.isPods(p, pod));
        if (pid !== undefined) found.set(ip, { path: `${this.hostProc}/${pid}/ns/net`, pid: Number(pid), inode });
      }
    }
    // Forget namespaces no process names any more (their inodes may be reused).
    for (const inode of this.addressesByInode.keys()) if (!pidsByInode.has(inode)) this.addressesByInode.delete(inode);
    return { found, denied, foreign };
  }

  /** The kubelet's cgroup path names the pod UID (pod<UID>, with _ under systemd); the runtime sets HOSTNAME to the pod's name. */
  private isPods(pid: string, pod: PodIdentity): boolean {
    try {
      const cgroup = readFileSync(`${this.hostProc}/${pid}/cgroup`, 'utf8');
      if (pod.uid !== '' && (cgroup.includes(pod.uid) || cgroup.includes(pod.uid.replace(/-/g, '_')))) return true;
    } catch {
      // ended
    }
    try {
      return readFileSync(`${this.hostProc}/${pid}/environ`, 'latin1').split('\0').includes(`HOSTNAME=${pod.name}`);
    } catch {
      return false;
    }
  }
}

/** The namespace's own (local) addresses, loopback left out. */
export function readAddresses(netDir: string): string[] {
  const out: string[] = [];
  try {
    out.push(...localIpv4(readFileSync(`${netDir}/fib_trie`, 'utf8')));
  } catch {
    // ended, or no IPv4
  }
  try {
    out.push(...localIpv6(readFileSync(`${netDir}/if_inet6`, 'utf8')));
  } catch {
    // ended, or no IPv6
  }
  return out;
}

/**
 * fib_trie lists each address as a leaf, "|-- 10.244.1.7", followed by its routes; the local
 * table's "/32 host LOCAL" route under a leaf says the address is this namespace's own.
 */
export function localIpv4(fibTrie: string): string[] {
  const ips = new Set<string>();
  let leaf: string | null = null;
  for (const line of fibTrie.split('\n')) {
    const l = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (l) leaf = l[1]!;
    else if (leaf !== null && /^\s*\/32 host LOCAL\s*$/.test(line) && !leaf.startsWith('127.')) ips.add(leaf);
  }
  return [...ips];
}

/** if_inet6: "fe800000000000000000000000000001 02 40 20 80 eth0", the address as 32 hex digits. */
export function localIpv6(ifInet6: string): string[] {
  const ips: string[] = [];
  for (const line of ifInet6.split('\n')) {
    const hex = /^([0-9a-f]{32})\s/.exec(line)?.[1];
    if (!hex || hex === '00000000000000000000000000000001' || hex.startsWith('fe80')) continue;
    ips.push(compressIpv6(hex));
  }
  return ips;
}

/** 32 hex digits -> RFC 5952 text (lower case, the longest run of zero groups as ::). */
function compressIpv6(hex: string): string {
  const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}
