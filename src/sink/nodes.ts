// Who is at each end of a call, as the service map and the run summary name it: a workload
// (deployment, statefulset, daemonset) when the name resolver knows one, else the pod, else
// the service, else an external name, else the IP address. Ports are not part of a node: a
// workload listening on two ports is one node with an edge per protocol.

import type { Endpoint } from '../entry.js';

export type NodeKind = 'workload' | 'pod' | 'service' | 'node' | 'external' | 'ip';

export interface MapNode {
  /** Stable and unique: `workload:shop/frontend`, `pod:shop/redis-0`, `ip:10.0.0.7`. */
  key: string;
  label: string;
  kind: NodeKind;
  namespace?: string;
}

export function nodeOf(e: Endpoint): MapNode {
  const ns = e.namespace;
  const inNs = (name: string) => (ns ? `${ns}/${name}` : name);
  // The resolver names workloads with their kind (`deployment/cart`): the kind stays in the
  // key, the label is the name people call it by.
  if (e.workload) return { key: `workload:${inNs(e.workload)}`, label: e.workload.slice(e.workload.indexOf('/') + 1), kind: 'workload', namespace: ns };
  if (e.kind === 'pod' && e.name) return { key: `pod:${inNs(e.name)}`, label: e.name, kind: 'pod', namespace: ns };
  if (e.kind === 'service' && e.name) return { key: `service:${inNs(e.name)}`, label: e.name, kind: 'service', namespace: ns };
  if (e.kind === 'node' && e.name) return { key: `node:${e.name}`, label: e.name, kind: 'node' };
  if (e.kind === 'external' && e.name) return { key: `external:${e.name}`, label: e.name, kind: 'external' };
  return ipNode(e.ip);
}

export function ipNode(ip: string): MapNode {
  return { key: `ip:${ip}`, label: ip, kind: 'ip' };
}

export function externalNode(name: string): MapNode {
  return { key: `external:${name}`, label: name, kind: 'external' };
}

/** The address behind an `ip:` node key, or null for a named node. */
export function addressOf(key: string): string | null {
  return key.startsWith('ip:') ? key.slice(3) : null;
}
