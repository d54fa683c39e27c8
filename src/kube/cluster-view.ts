// What the CLI knows of the cluster while it taps: informers on pods, services,
// endpointslices, nodes and replicasets, with the user's own rights, feeding the name
// resolver and the target selection. One informer per resource cluster-wide when the user may
// list it everywhere, else one per tapped namespace. Nodes and ReplicaSets are optional:
// without them node IPs stay unnamed and workloads come from the pod-template-hash.
import type { KubeClient } from './client.js';
import { Informer, type Meta } from './informer.js';
import { NameResolver, type NodeInfo, type PodInfo, type ServiceInfo } from './resolver.js';

export interface PodObject extends Meta {
  spec: { nodeName?: string; hostNetwork?: boolean; containers: { name: string; ports?: { containerPort: number }[] }[]; initContainers?: { name: string; restartPolicy?: string }[] };
  status: { phase?: string; podIP?: string; podIPs?: { ip: string }[]; hostIP?: string };
}

export interface ServiceObject extends Meta {
  spec: { clusterIP?: string; clusterIPs?: string[]; selector?: Record<string, string>; ports?: { port: number; targetPort?: number | string; protocol?: string; name?: string }[] };
}

interface SliceObject extends Meta {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean } }[];
}

interface NodeObject extends Meta {
  status?: { addresses?: { type: string; address: string }[] };
}

interface OwnedObject extends Meta {}

export interface ViewScope {
  /** Namespaces to watch; empty means every namespace. */
  namespaces: string[];
  withNodes: boolean;
  withReplicaSets: boolean;
}

export class ClusterView {
  readonly resolver = new NameResolver();
  readonly pods: Informer<PodObject>[] = [];
  readonly services: Informer<ServiceObject>[] = [];
  private readonly replicaSets: Informer<OwnedObject>[] = [];
  private readonly all: Informer<Meta>[] = [];
  private readonly changeListeners: (() => void)[] = [];
  private changeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly scope: ViewScope,
  ) {}

  /** Starts every informer and resolves when each has listed once. */
  async start(): Promise<void> {
    const paths = (base: string, plural: string) =>
      this.scope.namespaces.length === 0 ? [`${base}/${plural}`] : this.scope.namespaces.map((ns) => `${base}/namespaces/${ns}/${plural}`);
    if (this.scope.withReplicaSets) {
      for (const p of paths('/apis/apps/v1', 'replicasets')) this.replicaSets.push(this.track(new Informer<OwnedObject>(this.client, p)));
    }
    for (const p of paths('/api/v1', 'pods')) {
      const inf = this.track(new Informer<PodObject>(this.client, p));
      inf.on((event, pod, old) => {
        if (event === 'delete') this.resolver.removePod(podInfo(pod, this));
        else this.resolver.setPod(podInfo(pod, this), old ? podInfo(old, this) : undefined);
      });
      this.pods.push(inf);
    }
    for (const p of paths('/api/v1', 'services')) {
      const inf = this.track(new Informer<ServiceObject>(this.client, p));
      inf.on((event, svc, old) => {
        if (event === 'delete') this.resolver.removeService(serviceInfo(svc));
        else this.resolver.setService(serviceInfo(svc), old ? serviceInfo(old) : undefined);
      });
      this.services.push(inf);
    }
    for (const p of paths('/apis/discovery.k8s.io/v1', 'endpointslices')) {
      const inf = this.track(new Informer<SliceObject>(this.client, p));
      inf.on((event, slice) => {
        const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
        const service = slice.metadata.labels?.['kubernetes.io/service-name'];
        if (event === 'delete' || !service) this.resolver.removeSlice(key);
        else {
          const ips = (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false || e.conditions?.serving === true).flatMap((e) => e.addresses);
          this.resolver.setSlice(key, `${slice.metadata.namespace}/${service}`, ips);
        }
      });
    }
    if (this.scope.withNodes) {
      const inf = this.track(new Informer<NodeObject>(this.client, '/api/v1/nodes'));
      inf.on((event, node, old) => {
        if (event === 'delete') this.resolver.removeNode(nodeInfo(node));
        else this.resolver.setNode(nodeInfo(node), old ? nodeInfo(old) : undefined);
      });
    }
    // ReplicaSets first, so that the first pods already get their Deployment.
    await Promise.all(this.replicaSets.map((i) => i.start().ready));
    await Promise.all(this.all.filter((i) => !this.replicaSets.includes(i)).map((i) => i.start().ready));
  }

  /** Called (debounced) whenever pods or services change: targets are recomputed then. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  allPods(): PodObject[] {
    return this.pods.flatMap((i) => i.list());
  }

  allServices(): ServiceObject[] {
    return this.services.flatMap((i) => i.list());
  }

  /** `deployment/cart` through the ReplicaSet, `statefulset/db`, `daemonset/x`, `job/y`; undefined for a bare pod. */
  workloadOf(pod: Meta): string | undefined {
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
    if (!owner) return undefined;
    if (owner.kind === 'ReplicaSet') {
      const rs = this.replicaSets.map((i) => i.get(pod.metadata.namespace, owner.name)).find(Boolean);
      const top = rs?.metadata.ownerReferences?.find((o) => o.controller);
      if (top) return `${top.kind.toLowerCase()}/${top.name}`;
      if (!rs) {
        // Without ReplicaSet rights: a Deployment's ReplicaSet is named DEPLOYMENT-HASH.
        const hash = pod.metadata.labels?.['pod-template-hash'];
        if (hash && owner.name.endsWith(`-${hash}`)) return `deployment/${owner.name.slice(0, -hash.length - 1)}`;
      }
      return `replicaset/${owner.name}`;
    }
    return `${owner.kind.toLowerCase()}/${owner.name}`;
  }

  stop(): void {
    clearTimeout(this.changeTimer);
    for (const i of this.all) i.stop();
  }

  private track<T extends Meta>(inf: Informer<T>): Informer<T> {
    inf.on(() => this.changed());
    this.all.push(inf as unknown as Informer<Meta>);
    return inf;
  }

  private changed(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      for (const l of this.changeListeners) l();
    }, 200);
  }
}

export function podInfo(pod: PodObject, view?: ClusterView): PodInfo {
  return {
    uid: pod.metadata.uid,
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name,
    ip: pod.status?.podIP ?? '',
    node: pod.spec?.nodeName ?? '',
    hostIP: pod.status?.hostIP,
    hostNetwork: pod.spec?.hostNetwork === true,
    workload: view?.workloadOf(pod),
    labels: pod.metadata.labels ?? {},
    ports: (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)),
  };
}

export function serviceInfo(svc: ServiceObject): ServiceInfo {
  const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
  return {
    namespace: svc.metadata.namespace ?? '',
    name: svc.metadata.name,
    clusterIPs: ips.filter((ip) => ip && ip !== 'None'),
    ports: (svc.spec?.ports ?? []).map((p) => ({ port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP', ...(p.name ? { name: p.name } : {}) })),
  };
}

function nodeInfo(node: NodeObject): NodeInfo {
  return { name: node.metadata.name, ips: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address) };
}
