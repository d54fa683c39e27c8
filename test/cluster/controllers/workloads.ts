// The workload controllers: Deployment -> ReplicaSet -> Pods and DaemonSet -> one Pod per
// eligible node, with the names, labels, owner references and status counts the real
// controllers produce. Rollouts replace the old ReplicaSet at once (Recreate-like).
import type { KubeObject } from '../api/store.js';
import { kinds, ownedBy, ownerRef, type Controller, type Ctx } from './context.js';
import { isActive, nodeFits, podReady, safeHash, setCondition } from './util.js';

function podFromTemplate(owner: KubeObject, extraLabels: Record<string, string>, specPatch: Record<string, unknown> = {}): KubeObject {
  const t = owner.spec.template ?? {};
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name}-`, namespace: owner.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec: { ...structuredClone(t.spec ?? {}), ...specPatch },
  };
}

/** After a refused create, an owner waits before trying again (1 s doubling to 10 s), as the controllers' rate-limited queues do. */
const createBackoff = new Map<string, { until: number; delay: number }>();

function createPod(ctx: Ctx, owner: KubeObject, pod: KubeObject): void {
  const source = owner.kind === 'DaemonSet' ? 'daemonset-controller' : 'replicaset-controller';
  const uid = owner.metadata.uid as string;
  const backoff = createBackoff.get(uid);
  if (backoff && Date.now() < backoff.until) return;
  try {
    // generateName: the server names the pod, and an admission refusal names the prefix ("web-")
    const created = ctx.api.create(kinds.Pod, owner.metadata.namespace, pod);
    createBackoff.delete(uid);
    ctx.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, source);
  } catch (err) {
    const delay = Math.min(10_000, (backoff?.delay ?? 500) * 2);
    createBackoff.set(uid, { until: Date.now() + delay, delay });
    ctx.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`, source);
  }
}

function deletePod(ctx: Ctx, pod: KubeObject): void {
  try {
    ctx.api.delete(kinds.Pod, pod.metadata.namespace, pod.metadata.name, {});
  } catch {
    // already gone
  }
}

export function replicaSetController(ctx: Ctx): Controller {
  const { store } = ctx;
  return {
    name: 'replicaset',
    reconcile() {
      const pods = store.list(kinds.Pod);
      for (const rs of store.list(kinds.ReplicaSet)) {
        if (rs.metadata.deletionTimestamp) continue;
        const mine = pods.filter((p) => p.metadata.namespace === rs.metadata.namespace && ownedBy(p, rs));
        const active = mine.filter(isActive);
        const want = rs.spec.replicas ?? 1;
        for (let i = active.length; i < want; i++) {
          createPod(ctx, rs, podFromTemplate(rs, {}));
        }
        if (active.length > want) {
          const order = [...active].sort((a, b) => Number(podReady(a)) - Number(podReady(b)) || Number(!!a.spec.nodeName) - Number(!!b.spec.nodeName));
          for (const p of order.slice(0, active.length - want)) deletePod(ctx, p);
        }
        const ready = active.filter(podReady).length;
        store.mutate(kinds.ReplicaSet, rs.metadata.namespace, rs.metadata.name, (o) => {
          o.status = {
            replicas: active.length, fullyLabeledReplicas: active.length, readyReplicas: ready, availableReplicas: ready,
            observedGeneration: rs.metadata.generation,
          };
          if (!ready) delete o.status.readyReplicas;
          if (!ready) delete o.status.availableReplicas;
        }, 'status');
      }
    },
  };
}

export function deploymentController(ctx: Ctx): Controller {
  const { store } = ctx;
  return {
    name: 'deployment',
    reconcile() {
      const allRs = store.list(kinds.ReplicaSet);
      for (const d of store.list(kinds.Deployment)) {
        if (d.metadata.deletionTimestamp) continue;
        const hash = safeHash(d.spec.template);
        const owned = allRs.filter((rs) => rs.metadata.namespace === d.metadata.namespace && ownedBy(rs, d));
        let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
        const revision = String(1 + Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0))));
        if (!current) {
          const labels = { ...(d.spec.template?.metadata?.labels ?? {}), 'pod-template-hash': hash };
          current = ctx.api.create(kinds.ReplicaSet, d.metadata.namespace, {
            apiVersion: 'apps/v1', kind: 'ReplicaSet',
            metadata: {
              name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels,
              annotations: { 'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas), 'deployment.kubernetes.io/max-replicas': String(d.spec.replicas + 1), 'deployment.kubernetes.io/revision': revision },
              ownerReferences: [ownerRef(d)],
            },
            spec: {
              replicas: d.spec.replicas,
              selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
              template: { ...d.spec.template, metadata: { ...(d.spec.template?.metadata ?? {}), labels } },
            },
          });
          ctx.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata.name} to ${d.spec.replicas}`, 'deployment-controller');
        } else if (current.spec.replicas !== d.spec.replicas) {
          store.mutate(kinds.ReplicaSet, current.metadata.namespace, current.metadata.name, (o) => {
            o.spec.replicas = d.spec.replicas;
          });
        }
        for (const old of owned) {
          if (old.metadata.uid !== current.metadata.uid && old.spec.replicas !== 0) {
            store.mutate(kinds.ReplicaSet, old.metadata.namespace, old.metadata.name, (o) => {
              o.spec.replicas = 0;
            });
          }
        }
        const rsNow = store.list(kinds.ReplicaSet, d.metadata.namespace).filter((rs) => ownedBy(rs, d));
        const total = rsNow.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
        const ready = rsNow.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);
        const cur = rsNow.find((rs) => rs.metadata.uid === current!.metadata.uid);
        const updated = cur?.status?.replicas ?? 0;
        const available = ready >= (d.spec.replicas ?? 1);
        store.mutate(kinds.Deployment, d.metadata.namespace, d.metadata.name, (o) => {
          let conditions = setCondition(o.status?.conditions, 'Available', available ? 'True' : 'False', available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.');
          conditions = setCondition(conditions, 'Progressing', 'True', updated >= d.spec.replicas && ready >= d.spec.replicas ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', `ReplicaSet "${current!.metadata.name}" ${updated >= d.spec.replicas && ready >= d.spec.replicas ? 'has successfully progressed' : 'is progressing'}.`);
          o.status = {
            observedGeneration: d.metadata.generation, replicas: total, updatedReplicas: updated, readyReplicas: ready, availableReplicas: ready,
            ...(total - ready > 0 ? { unavailableReplicas: total - ready } : {}), conditions,
          };
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': current!.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? revision };
        }, 'status');
        store.mutate(kinds.Deployment, d.metadata.namespace, d.metadata.name, (o) => {
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': current!.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? revision };
        });
      }
    },
  };
}

export function daemonSetController(ctx: Ctx): Controller {
  const { store } = ctx;
  return {
    name: 'daemonset',
    reconcile() {
      const nodes = store.list(kinds.Node);
      const pods = store.list(kinds.Pod);
      for (const ds of store.list(kinds.DaemonSet)) {
        if (ds.metadata.deletionTimestamp) continue;
        const hash = safeHash(ds.spec.template);
        const mine = pods.filter((p) => p.metadata.namespace === ds.metadata.namespace && ownedBy(p, ds) && !p.metadata.deletionTimestamp);
        let desired = 0;
        let current = 0;
        let ready = 0;
        let updated = 0;
        let misscheduled = 0;
        for (const node of nodes) {
          const nodeName = node.metadata.name as string;
          const onNode = mine.filter((p) => (p.spec.nodeName ?? targetNode(p)) === nodeName);
          const fits = nodeFits(ds.spec.template?.spec, node, true);
          if (!fits) {
            misscheduled += onNode.length;
            for (const p of onNode) deletePod(ctx, p);
            continue;
          }
          desired++;
          const stale = onNode.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== hash);
          for (const p of stale) deletePod(ctx, p);
          const fresh = onNode.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash);
          const running = fresh.filter((p) => p.status?.phase !== 'Failed');
          for (const p of fresh.filter((x) => x.status?.phase === 'Failed')) deletePod(ctx, p);
          if (onNode.length > 0) current++;
          if (running.length === 0 && stale.length === 0) {
            createPod(ctx, ds, podFromTemplate(ds, { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) }, {
              affinity: {
                ...(ds.spec.template?.spec?.affinity ?? {}),
                nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } },
              },
              tolerations: [...(ds.spec.template?.spec?.tolerations ?? []),
                { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
                { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
                { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
            }));
          }
          if (running.some(podReady)) ready++;
          if (running.length > 0) updated++;
        }
        store.mutate(kinds.DaemonSet, ds.metadata.namespace, ds.metadata.name, (o) => {
          o.status = {
            currentNumberScheduled: current, desiredNumberScheduled: desired, numberMisscheduled: misscheduled, numberReady: ready,
            numberAvailable: ready, updatedNumberScheduled: updated, observedGeneration: ds.metadata.generation,
            ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
          };
          if (!ready) delete o.status.numberAvailable;
        }, 'status');
      }
    },
  };
}

/** The node a DaemonSet pod is pinned to through its matchFields affinity (before binding). */
function targetNode(p: KubeObject): string | undefined {
  const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return undefined;
}
