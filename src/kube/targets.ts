// Which pods are tapped: a regex over pod names or a workload as stern takes it
// (deploy/cart, sts/db, ds/x, job/y, svc/frontend), narrowed by namespaces, a label selector
// (applied by the informers' list), --exclude-pod, --exclude-namespace and --node. From the
// chosen pods, the targets each tapper is sent (docs/tapper-api.md): every target pod with
// its node, and the Services whose endpoints they are.
import { UsageError } from '../errors.js';
import type { ClusterView, PodObject } from './cluster-view.js';
import { serviceInfo } from './cluster-view.js';
import { sidecarFor, type MeshMode } from './mesh-detect.js';

export interface Selection {
  /** Namespaces whose pods are tapped; empty: every namespace. (Names are resolved more widely.) */
  namespaces: Set<string>;
  /** Regex over pod names (POD_REGEX or --pods); undefined: every pod. */
  podRegex?: RegExp;
  /** TYPE/NAME: a workload (kind lower case, e.g. "deployment") or a Service. */
  workload?: { kind: string; name: string };
  /** -l: a compiled label selector. */
  labels?: (labels: Record<string, string>) => boolean;
  excludePods: RegExp[];
  excludeNamespaces: Set<string>;
  nodes: Set<string>;
  /** Never tap our own stack. */
  tapNamespace: string;
}

const KIND_ALIASES: Record<string, string> = {
  deploy: 'deployment', deployment: 'deployment', deployments: 'deployment',
  sts: 'statefulset', statefulset: 'statefulset', statefulsets: 'statefulset',
  ds: 'daemonset', daemonset: 'daemonset', daemonsets: 'daemonset',
  rs: 'replicaset', replicaset: 'replicaset', replicasets: 'replicaset',
  job: 'job', jobs: 'job',
  svc: 'service', service: 'service', services: 'service',
  po: 'pod', pod: 'pod', pods: 'pod',
};

/** "deploy/cart" -> {kind: deployment, name: cart}; a bare string is a pod-name regex. */
export function parseQuery(query: string | undefined): Pick<Selection, 'podRegex' | 'workload'> {
  if (!query) return {};
  const slash = /^([a-z]+)\/(.+)$/.exec(query);
  if (slash && KIND_ALIASES[slash[1]!]) {
    const kind = KIND_ALIASES[slash[1]!]!;
    if (kind === 'pod') return { podRegex: new RegExp(`^${escapeRegex(slash[2]!)}$`) };
    return { workload: { kind, name: slash[2]! } };
  }
  return { podRegex: compileRegex(query, 'pod query') };
}

export function compileRegex(source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new UsageError(`invalid ${what} regex "${source}": ${(err as Error).message}`);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function selectPods(view: ClusterView, sel: Selection): PodObject[] {
  const services = sel.workload?.kind === 'service' ? view.allServices() : [];
  return view.allPods().filter((pod) => {
    const ns = pod.metadata.namespace ?? '';
    if (ns === sel.tapNamespace || sel.excludeNamespaces.has(ns)) return false;
    if (sel.namespaces.size > 0 && !sel.namespaces.has(ns)) return false;
    if (!pod.status?.podIP || pod.metadata.deletionTimestamp || pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return false;
    if (sel.nodes.size > 0 && !sel.nodes.has(pod.spec?.nodeName ?? '')) return false;
    if (sel.podRegex && !sel.podRegex.test(pod.metadata.name)) return false;
    if (sel.excludePods.some((r) => r.test(pod.metadata.name))) return false;
    if (sel.labels && !sel.labels(pod.metadata.labels ?? {})) return false;
    if (sel.workload) {
      const { kind, name } = sel.workload;
      if (kind === 'service') {
        const svc = services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
        if (!svc?.spec?.selector || !matchesSelector(pod.metadata.labels ?? {}, svc.spec.selector)) return false;
      } else if (view.workloadOf(pod) !== `${kind}/${name}`) return false;
    }
    return true;
  });
}

function matchesSelector(labels: Record<string, string>, selector: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export interface TargetsBody {
  node?: string;
  ttl: number;
  pods: { ip: string; uid: string; namespace: string; name: string; node: string; hostNetwork: boolean; sidecar: string | null }[];
  services: { namespace: string; name: string; clusterIPs: string[]; ports: { port: number; targetPort: number | string; protocol: string }[]; endpoints: string[] }[];
}

export const TARGETS_TTL_SECONDS = 120;

/** The targets sent to every tapper (each captures the pods of its own node). */
export function targetsBody(view: ClusterView, pods: PodObject[], mesh: MeshMode): TargetsBody {
  // Every Service with a ClusterIP, not only the targets' own: a target that dials any of them
  // (kube-dns above all) is seen before DNAT and after, and the tapper keeps one copy only of
  // what it knows to be a Service (src/node/dnat.ts).
  const services: TargetsBody['services'] = [];
  const endpointsByService = serviceEndpoints(view);
  for (const svc of view.allServices()) {
    const info = serviceInfo(svc);
    if (info.clusterIPs.length === 0) continue;
    const endpoints = endpointsByService.get(`${svc.metadata.namespace}/${svc.metadata.name}`) ?? [];
    services.push({ namespace: info.namespace, name: info.name, clusterIPs: info.clusterIPs, ports: info.ports.map(({ port, targetPort, protocol }) => ({ port, targetPort, protocol })), endpoints });
  }
  return {
    ttl: TARGETS_TTL_SECONDS,
    pods: pods.map((p) => ({
      ip: p.status.podIP!, uid: p.metadata.uid, namespace: p.metadata.namespace ?? '', name: p.metadata.name, node: p.spec.nodeName ?? '',
      hostNetwork: p.spec.hostNetwork === true, sidecar: sidecarFor(p, mesh),
    })),
    services,
  };
}

/**
 * Every Service's endpoint IPs ("namespace/name" -> IPs, in the pods' order), in one pass over
 * the pods: a pass per Service was services x pods on every change (10k pods, 2k Services:
 * 20 million lookups each time a pod changes).
 */
function serviceEndpoints(view: ClusterView): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of view.allPods()) {
    const ip = p.status?.podIP;
    if (!ip) continue;
    for (const key of view.resolver.servicesOf(ip)) {
      const ips = out.get(key);
      if (ips) ips.push(ip);
      else out.set(key, [ip]);
    }
  }
  return out;
}

/**
 * A label selector as kubectl takes it (`app=cart,tier!=db,env in (a,b),!canary,team`),
 * compiled to a predicate over a pod's labels.
 */
export function compileLabelSelector(text: string | undefined): ((labels: Record<string, string>) => boolean) | undefined {
  if (!text) return undefined;
  const tests: ((l: Record<string, string>) => boolean)[] = [];
  // Split on commas that are not inside parentheses.
  for (const raw of text.split(/,(?![^(]*\))/)) {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      tests.push(op === 'in' ? (l) => l[key] !== undefined && values.has(l[key]!) : (l) => l[key] === undefined || !values.has(l[key]!));
    } else if ((m = /^!([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      tests.push((l) => l[key] === undefined);
    } else if ((m = /^([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      tests.push((l) => l[key] !== undefined);
    } else {
      throw new UsageError(`invalid label selector "${text}" (near "${part}")`);
    }
  }
  return (labels) => tests.every((t) => t(labels));
}
