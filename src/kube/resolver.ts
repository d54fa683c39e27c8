// Names for addresses. Fed by the cluster view's informers (pods, services, endpointslices,
// nodes, replicasets), it answers what an IP:port is: a pod (with its workload, the
// Services whose endpoints it is, and its node), a Service's ClusterIP, a node, a
// hostNetwork pod by its port on the node, or an address outside the cluster, named after
// the DNS answer or TLS SNI seen for it. Pods that are gone are remembered for a while, so
// entries that arrive late (a tapper flushing) still get names.
import type { Endpoint, Entry } from '../entry.js';

export interface PodInfo {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  node: string;
  hostIP?: string;
  hostNetwork: boolean;
  workload?: string;
  labels: Record<string, string>;
  /** Container ports, for hostNetwork pods that share their node's IP. */
  ports: number[];
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  clusterIPs: string[];
  ports: { port: number; targetPort: number | string; protocol: string; name?: string }[];
}

export interface NodeInfo {
  name: string;
  ips: string[];
}

const REMEMBER_GONE_MS = 5 * 60_000;
const MAX_EXTERNAL_NAMES = 10_000;

export class NameResolver {
  private readonly podsByIp = new Map<string, PodInfo>();
  private readonly gonePods = new Map<string, { pod: PodInfo; until: number }>();
  private readonly servicesByIp = new Map<string, ServiceInfo>();
  /** pod IP -> names of the Services whose endpoint it is (from EndpointSlices). */
  private readonly servicesOfIp = new Map<string, Set<string>>();
  private readonly slices = new Map<string, { service: string; ips: string[] }>();
  private readonly nodesByIp = new Map<string, NodeInfo>();
  /** node IP -> port -> hostNetwork pods listening there. */
  private readonly hostPorts = new Map<string, Map<number, PodInfo[]>>();
  private readonly externalNames = new Map<string, string>();
  unresolved = 0;

  setPod(pod: PodInfo, old?: PodInfo): void {
    if (old) this.removePod(old, false);
    if (pod.hostNetwork) {
      const ip = pod.hostIP ?? pod.ip;
      const byPort = this.hostPorts.get(ip) ?? new Map<number, PodInfo[]>();
      for (const port of pod.ports) byPort.set(port, [...(byPort.get(port) ?? []).filter((p) => p.uid !== pod.uid), pod]);
      this.hostPorts.set(ip, byPort);
    } else if (pod.ip) {
      this.podsByIp.set(pod.ip, pod);
      this.gonePods.delete(pod.ip);
    }
  }

  removePod(pod: PodInfo, remember = true): void {
    if (pod.hostNetwork) {
      const byPort = this.hostPorts.get(pod.hostIP ?? pod.ip);
      for (const port of pod.ports) {
        const left = (byPort?.get(port) ?? []).filter((p) => p.uid !== pod.uid);
        if (left.length > 0) byPort!.set(port, left);
        else byPort?.delete(port);
      }
      return;
    }
    if (this.podsByIp.get(pod.ip)?.uid !== pod.uid) return;
    this.podsByIp.delete(pod.ip);
    if (remember) this.gonePods.set(pod.ip, { pod, until: Date.now() + REMEMBER_GONE_MS });
  }

  setService(svc: ServiceInfo, old?: ServiceInfo): void {
    if (old) this.removeService(old);
    for (const ip of svc.clusterIPs) if (ip && ip !== 'None') this.servicesByIp.set(ip, svc);
  }

  removeService(svc: ServiceInfo): void {
    for (const ip of svc.clusterIPs) if (this.servicesByIp.get(ip) === svc || this.servicesByIp.get(ip)?.name === svc.name) this.servicesByIp.delete(ip);
  }

  /** An EndpointSlice (namespace/name) listing the ready addresses of `namespace/service`. */
  setSlice(key: string, service: string, ips: string[]): void {
    this.removeSlice(key);
    this.slices.set(key, { service, ips });
    for (const ip of ips) {
      const set = this.servicesOfIp.get(ip) ?? new Set<string>();
      set.add(service);
      this.servicesOfIp.set(ip, set);
    }
  }

  removeSlice(key: string): void {
    const old = this.slices.get(key);
    if (!old) return;
    this.slices.delete(key);
    for (const ip of old.ips) {
      const set = this.servicesOfIp.get(ip);
      set?.delete(old.service);
      if (set?.size === 0) this.servicesOfIp.delete(ip);
    }
  }

  setNode(node: NodeInfo, old?: NodeInfo): void {
    if (old) this.removeNode(old);
    for (const ip of node.ips) this.nodesByIp.set(ip, node);
  }

  removeNode(node: NodeInfo): void {
    for (const ip of node.ips) if (this.nodesByIp.get(ip)?.name === node.name) this.nodesByIp.delete(ip);
  }

  /** Services ("namespace/name") whose endpoints include this pod IP. */
  servicesOf(ip: string): string[] {
    return [...(this.servicesOfIp.get(ip) ?? [])];
  }

  /** Learns names for outside addresses from DNS answers and TLS SNI, then names both ends. */
  resolveEntry(entry: Entry & { capture?: { dialed?: { ip: string; port: number } } }): void {
    this.learn(entry);
    this.resolve(entry.src);
    this.resolve(entry.dst);
    const dialed = entry.capture?.dialed;
    if (dialed) {
      const svc = this.servicesByIp.get(dialed.ip);
      if (svc) entry.dst.service = svc.name;
    }
  }

  resolve(e: Endpoint): void {
    const pod = this.podsByIp.get(e.ip) ?? this.rememberedPod(e.ip);
    if (pod) return fillPod(e, pod, this.servicesOf(e.ip));
    const svc = this.servicesByIp.get(e.ip);
    if (svc) {
      e.kind = 'service';
      e.name = svc.name;
      e.namespace = svc.namespace;
      e.service = svc.name;
      return;
    }
    const hostPod = this.hostPorts.get(e.ip)?.get(e.port);
    if (hostPod && hostPod.length === 1) return fillPod(e, hostPod[0]!, []);
    const node = this.nodesByIp.get(e.ip);
    if (node) {
      e.kind = 'node';
      e.name = node.name;
      e.node = node.name;
      return;
    }
    const external = this.externalNames.get(e.ip);
    if (external) {
      e.kind = 'external';
      e.name = external;
      return;
    }
    if (isClusterLike(e.ip)) this.unresolved += 1;
  }

  private rememberedPod(ip: string): PodInfo | undefined {
    const gone = this.gonePods.get(ip);
    if (!gone) return undefined;
    if (gone.until < Date.now()) {
      this.gonePods.delete(ip);
      return undefined;
    }
    return gone.pod;
  }

  private learn(entry: Entry): void {
    if (entry.protocol === 'dns') {
      const answers = (entry.response as { answers?: { name: string; type: string; data: string }[] } | null)?.answers ?? [];
      const question = (entry.request as { questions?: { name: string }[] }).questions?.[0]?.name;
      for (const a of answers) if ((a.type === 'A' || a.type === 'AAAA') && question) this.nameExternal(a.data, question.replace(/\.$/, ''));
    } else if (entry.protocol === 'tls') {
      const sni = (entry.request as { sni?: string }).sni;
      if (sni) this.nameExternal(entry.dst.ip, sni);
    }
  }

  private nameExternal(ip: string, name: string): void {
    if (this.podsByIp.has(ip) || this.servicesByIp.has(ip) || this.nodesByIp.has(ip)) return;
    if (this.externalNames.size >= MAX_EXTERNAL_NAMES && !this.externalNames.has(ip)) {
      this.externalNames.delete(this.externalNames.keys().next().value!);
    }
    this.externalNames.set(ip, name);
  }
}

function fillPod(e: Endpoint, pod: PodInfo, services: string[]): void {
  e.kind = 'pod';
  e.name = pod.name;
  e.pod = pod.name;
  e.namespace = pod.namespace;
  e.node = pod.node;
  if (pod.workload) e.workload = pod.workload;
  const own = services.filter((s) => s.startsWith(`${pod.namespace}/`)).map((s) => s.slice(pod.namespace.length + 1));
  if (own.length > 0) e.service = own.sort()[0];
}

/** Private and carrier-grade ranges: where an unresolved address most likely is an in-cluster one we failed to name. */
function isClusterLike(ip: string): boolean {
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/.test(ip) || /^f[cd]/i.test(ip);
}
