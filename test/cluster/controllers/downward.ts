// The downward API: the pod fields a container may read through env (fieldRef,
// resourceFieldRef) and downwardAPI volume items, resolved as the kubelet resolves them.
// The pod object may not carry status.podIP yet when a container starts, so the kubelet
// passes what it knows (the sandbox's IP, the node) in `PodRuntime`.
import type { KubeObject } from '../api/store.js';
import { parseQuantity } from './quantity.js';

export interface PodRuntime {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

/** Value of a fieldRef.fieldPath, or undefined when the path is not one the API allows. */
export function fieldValue(pod: KubeObject, path: string, rt: PodRuntime): string | undefined {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return String(pod.metadata[label[1]!]?.[label[2]!] ?? '');
  const map = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
  switch (path) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace;
    case 'metadata.uid': return pod.metadata.uid;
    case 'metadata.labels': return map(pod.metadata.labels);
    case 'metadata.annotations': return map(pod.metadata.annotations);
    case 'spec.nodeName': return rt.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs': return rt.podIP;
    case 'status.hostIP':
    case 'status.hostIPs': return rt.hostIP;
    default: return undefined;
  }
}

/**
 * Value of a resourceFieldRef (limits.cpu, requests.memory, ...) divided by its divisor,
 * rounded up as the kubelet does; an unset limit reads as the node's allocatable.
 */
export function resourceFieldValue(container: any, ref: { resource: string; divisor?: string }, allocatable: Record<string, string>): string {
  const [kind, name] = ref.resource.split('.') as ['limits' | 'requests', string];
  const set = container?.resources?.[kind]?.[name] ?? (kind === 'limits' ? allocatable[name] : undefined);
  if (set === undefined) return '0';
  const divisor = parseQuantity(ref.divisor ?? (name === 'cpu' ? '1' : '1'));
  return String(Math.ceil(parseQuantity(String(set)) / (divisor || 1)));
}
