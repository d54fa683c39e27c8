// The EndpointSlice (and legacy Endpoints) controller: for every Service with a selector,
// one slice listing the selected pods' IPs with ready/serving/terminating conditions and
// the Service's target ports resolved to numbers, kept in step as pods come and go.
import type { KubeObject } from '../api/store.js';
import { matchMap } from '../api/selectors.js';
import { kinds, ownerRef, type Controller, type Ctx } from './context.js';
import { podReady, safeHash } from './util.js';

function resolvePort(target: unknown, pod: KubeObject | undefined): number | undefined {
  if (typeof target === 'number') return target;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  for (const c of pod?.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

export function endpointsController(ctx: Ctx): Controller {
  const { store } = ctx;
  return {
    name: 'endpointslice',
    reconcile() {
      const pods = store.list(kinds.Pod);
      for (const svc of store.list(kinds.Service)) {
        if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) continue;
        const ns = svc.metadata.namespace as string;
        const selected = pods
          .filter((p) => p.metadata.namespace === ns && matchMap(p.metadata.labels, svc.spec.selector) && p.status?.podIP && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
          .sort((a, b) => String(a.status.podIP).localeCompare(String(b.status.podIP)));
        const first = selected[0];
        const ports = (svc.spec.ports ?? []).map((p: any) => ({ name: p.name ?? '', port: resolvePort(p.targetPort ?? p.port, first) ?? p.port, protocol: p.protocol ?? 'TCP' }));
        const endpoints = selected.map((p) => {
          const terminating = !!p.metadata.deletionTimestamp;
          const ready = podReady(p) && !terminating;
          return {
            addresses: [p.status.podIP], conditions: { ready, serving: podReady(p), terminating }, nodeName: p.spec.nodeName,
            targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
          };
        });
        const sliceName = `${svc.metadata.name}-${safeHash(svc.metadata.uid, 5)}`;
        const slice = {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: {
            name: sliceName, namespace: ns, ownerReferences: [ownerRef(svc)],
            labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
            generateName: `${svc.metadata.name}-`,
          },
          addressType: 'IPv4', endpoints, ports,
        };
        upsert(ctx, kinds.EndpointSlice, slice);
        const readyAddrs = endpoints.filter((e) => e.conditions.ready).map((e) => ({ ip: e.addresses[0], nodeName: e.nodeName, targetRef: e.targetRef }));
        const notReady = endpoints.filter((e) => !e.conditions.ready).map((e) => ({ ip: e.addresses[0], nodeName: e.nodeName, targetRef: e.targetRef }));
        upsert(ctx, kinds.Endpoints, {
          apiVersion: 'v1', kind: 'Endpoints',
          metadata: { name: svc.metadata.name, namespace: ns, labels: { ...(svc.metadata.labels ?? {}) }, ownerReferences: [ownerRef(svc)] },
          subsets: endpoints.length ? [{ ...(readyAddrs.length ? { addresses: readyAddrs } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports }] : [],
        });
      }
    },
  };
}

function upsert(ctx: Ctx, r: typeof kinds.EndpointSlice, desired: any): void {
  const existing = ctx.store.get(r, desired.metadata.namespace, desired.metadata.name);
  if (!existing) {
    ctx.store.create(r, desired);
    return;
  }
  const next = { ...existing, ...desired, metadata: { ...existing.metadata, labels: desired.metadata.labels, ownerReferences: desired.metadata.ownerReferences } };
  ctx.store.update(r, next);
}
