// Finds a pod's network namespace on this node through the host's /proc (the DaemonSet mounts
// it read-only at /host/proc): every process's /proc/PID/ns/net names its namespace, and the
// pod is the namespace that holds the pod's IP as a local address (/proc/PID/net/fib_trie for
// IPv4, /proc/PID/net/if_inet6 for IPv6). The CNI plugin puts the pod IP on the pod's own
// interface on every cluster, so this needs neither the container runtime's socket nor the
// kubelet's cgroup naming (kubepods-...-pod<UID>.slice under systemd, /kubepods/.../pod<UID>
// under cgroupfs, and none at all in the simulated cluster's kubelet for pods without memory
// limits). Reading another process's ns link takes ptrace read access: SYS_PTRACE, as the
// pod's processes usually hold capabilities the tapper does not.
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

export class NetnsFinder {
  /** inode -> its local IPs: a namespace's addresses are read once, not once per process. */
  private readonly addressesByInode = new Map<string, string[]>();

  constructor(readonly hostProc: string) {}

  /** One pass over the host's processes, looking for namespaces holding any of `ips`. */
  scan(ips: Set<string>, ownInode: string | null): ScanResult {
    const found = new Map<string, PodNetns>();
    let denied = 0;
    let foreign = 0;
    const seen = new Set<string>();
    let pids: string[];
    try {
      pids = readdirSync(this.hostProc).filter((d) => /^\d+$/.test(d));
    } catch {
      return { found, denied, foreign };
    }
    let complete = true;
    for (const pid of pids) {
      if (found.size === ips.size) {
        complete = false;
        break;
      }
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
      if (seen.has(inode)) continue;
      seen.add(inode);
      let addresses = this.addressesByInode.get(inode);
      if (addresses === undefined) {
        addresses = readAddresses(`${this.hostProc}/${pid}/net`);
        // An empty read is a process that ended: try the namespace again through another.
        if (addresses.length === 0) {
          seen.delete(inode);
          continue;
        }
        this.addressesByInode.set(inode, addresses);
      }
      for (const ip of addresses) if (ips.has(ip) && !found.has(ip)) found.set(ip, { path: `${this.hostProc}/${pid}/ns/net`, pid: Number(pid), inode });
    }
    // After a full pass, forget namespaces no process names any more (their inodes may be reused).
    if (complete) for (const inode of this.addressesByInode.keys()) if (!seen.has(inode)) this.addressesByInode.delete(inode);
    return { found, denied, foreign };
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
