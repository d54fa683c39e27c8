// The objects a fresh cluster starts with: system namespaces, bootstrap RBAC and the
// kubeconfig users' bindings, the `kubernetes` Service, cluster DNS (dnsmasq as a
// Deployment behind kube-dns 10.96.0.10), and one Node object per node namespace.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { ApiServer } from './api/server.js';
import type { KubeObject } from './api/store.js';
import { bootstrapRbac } from './api/rbac.js';
import { resourceOfKind } from './api/resources.js';
import { userBindings, LIMITED_NAMESPACE } from './users.js';
import { KUBE_VERSION } from './api/server.js';
import type { NodeInfo } from './controllers/kubelet.js';
import { podCidr, API_ADVERTISE_IP, API_SECURE_PORT } from './net/plumbing.js';

function osImage(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

export function nodeObject(n: NodeInfo): KubeObject {
  const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: ts, lastTransitionTime: ts, reason, message });
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64',
        ...(n.index === 1 ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
      annotations: { 'tap.cluster/netns': n.netns },
    },
    spec: { podCIDR: podCidr(n.index), podCIDRs: [podCidr(n.index)] },
    status: {
      capacity: { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: '110' },
      allocatable: { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: '110' },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }],
      nodeInfo: {
        machineID: n.netns, systemUUID: n.netns, bootID: n.netns, kernelVersion: os.release(), osImage: osImage(),
        containerRuntimeVersion: 'tap-netns://0.1.0', kubeletVersion: KUBE_VERSION.gitVersion, kubeProxyVersion: KUBE_VERSION.gitVersion,
        operatingSystem: 'linux', architecture: 'amd64',
      },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  };
}

function dnsObjects(): KubeObject[] {
  return [
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
      spec: { clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }] },
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 1, selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns' } },
          spec: {
            dnsPolicy: 'Default',
            containers: [{ name: 'dnsmasq', image: 'dnsmasq:2.90', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }], readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 2 } }],
          },
        },
      },
    },
  ];
}

export function bootstrap(api: ApiServer, nodes: NodeInfo[]): void {
  const create = (o: KubeObject) => {
    const r = resourceOfKind(o.apiVersion, o.kind)!;
    api.create(r, o.metadata.namespace, o);
  };
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', LIMITED_NAMESPACE]) create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const o of [...bootstrapRbac(), ...userBindings()]) create(o);
  create({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: API_SECURE_PORT }] },
  });
  // the endpoint reconciler's objects: the API server's advertise address (relayed to it)
  create({
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: API_ADVERTISE_IP }], ports: [{ name: 'https', port: API_SECURE_PORT, protocol: 'TCP' }] }],
  });
  create({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4', endpoints: [{ addresses: [API_ADVERTISE_IP], conditions: { ready: true } }], ports: [{ name: 'https', port: API_SECURE_PORT, protocol: 'TCP' }],
  });
  for (const n of nodes) create(nodeObject(n));
  for (const o of dnsObjects()) create(o);
}

/** Creates every object of a multi-document manifest, as `kubectl create -f` would. */
export function createAll(api: ApiServer, docs: KubeObject[]): void {
  for (const o of docs) {
    const r = resourceOfKind(o.apiVersion, o.kind);
    if (!r) throw new Error(`unknown kind ${o.apiVersion}/${o.kind}`);
    api.create(r, o.metadata?.namespace, o);
  }
}
