// The scheduler: binds each unscheduled pod to a node that fits (nodeSelector, required
// node affinity, taints and tolerations, cordon), preferring the node with the fewest pods
// of the same owner and then the fewest pods overall, so replicas spread across nodes.
import { kinds, type Controller, type Ctx } from './context.js';
import { nodeFits, setCondition } from './util.js';

export function scheduler(ctx: Ctx): Controller {
  const { store } = ctx;
  const reported = new Set<string>();
  return {
    name: 'scheduler',
    reconcile() {
      const nodes = store.list(kinds.Node).filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
      const pods = store.list(kinds.Pod);
      for (const pod of pods) {
        if (pod.spec.nodeName || pod.metadata.deletionTimestamp) continue;
        const fits = nodes.filter((n) => nodeFits(pod.spec, n));
        const ownerUid = pod.metadata.ownerReferences?.[0]?.uid;
        const load = (name: string) => pods.filter((p) => p.spec.nodeName === name && !p.metadata.deletionTimestamp);
        const best = fits
          .map((n) => ({ n, same: load(n.metadata.name).filter((p) => ownerUid && p.metadata.ownerReferences?.[0]?.uid === ownerUid).length, all: load(n.metadata.name).length }))
          .sort((a, b) => a.same - b.same || a.all - b.all || a.n.metadata.name.localeCompare(b.n.metadata.name))[0];
        if (!best) {
          if (!reported.has(pod.metadata.uid)) {
            reported.add(pod.metadata.uid);
            const msg = `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match Pod's node affinity/selector or had untolerated taints.`;
            ctx.event(pod, 'Warning', 'FailedScheduling', msg, 'default-scheduler');
            store.mutate(kinds.Pod, pod.metadata.namespace, pod.metadata.name, (o) => {
              o.status.conditions = setCondition(o.status.conditions, 'PodScheduled', 'False', 'Unschedulable', msg);
            }, 'status');
          }
          continue;
        }
        const nodeName = best.n.metadata.name as string;
        pod.spec.nodeName = nodeName;
        store.mutate(kinds.Pod, pod.metadata.namespace, pod.metadata.name, (o) => {
          o.spec.nodeName = nodeName;
        });
        store.mutate(kinds.Pod, pod.metadata.namespace, pod.metadata.name, (o) => {
          o.status.conditions = setCondition(o.status.conditions, 'PodScheduled', 'True');
        }, 'status');
        ctx.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`, 'default-scheduler');
      }
    },
  };
}
