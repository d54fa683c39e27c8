// The pod garbage collector's orphan rule: pods bound to a node that no longer exists are
// force-deleted (grace period 0) with a DisruptionTarget condition saying why, so a node that
// leaves takes its pods with it, as kube-controller-manager's podgc does.
import { kinds, type Controller, type Ctx } from './context.js';
import { setCondition } from './util.js';

export function podGarbageCollector(ctx: Ctx): Controller {
  return {
    name: 'pod-garbage-collector',
    reconcile() {
      const nodes = new Set(ctx.store.list(kinds.Node).map((n) => n.metadata.name as string));
      for (const pod of ctx.store.list(kinds.Pod)) {
        if (!pod.spec.nodeName || nodes.has(pod.spec.nodeName) || pod.metadata.deletionGracePeriodSeconds === 0) continue;
        ctx.store.mutate(kinds.Pod, pod.metadata.namespace, pod.metadata.name, (o) => {
          o.status.conditions = setCondition(o.status.conditions, 'DisruptionTarget', 'True', 'DeletionByPodGC', 'PodGC: node no longer exists');
        }, 'status');
        try {
          ctx.api.delete(kinds.Pod, pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0 });
        } catch {
          // gone meanwhile
        }
      }
    },
  };
}
