// The scheduler: binds each unscheduled pod to a node that passes the filter plugins, in
// kube-scheduler's order (NodeUnschedulable, TaintToleration, NodeAffinity incl. nodeSelector,
// NodePorts, NodeResourcesFit against the node's allocatable cpu, memory and pods), preferring
// the node with the fewest pods of the same owner and then the fewest pods overall, so
// replicas spread. A pod no node fits gets PodScheduled=False/Unschedulable and a
// FailedScheduling event with the real message: `0/2 nodes are available: 1 Insufficient
// memory, 1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: ...`.
// It is tried again on every change (a node joining, a taint removed, a pod leaving).
import type { KubeObject } from '../api/store.js';
import { kinds, type Controller, type Ctx } from './context.js';
import { matchLabelSelector } from '../api/selectors.js';
import { isActive, setCondition, tolerates } from './util.js';
import { parseQuantity } from './quantity.js';

interface Verdict {
  reasons: string[];
  /** resource shortages may be solved by preemption; the rest never */
  resolvable: boolean;
}

/** Requests of a pod as the scheduler counts them: the sum of its containers, or an init container's if larger. */
export function podRequests(spec: any): { cpu: number; memory: number } {
  const req = (c: any, r: string) => parseQuantity(String(c.resources?.requests?.[r] ?? 0)) || 0;
  const sum = (r: string) => (spec.containers ?? []).reduce((n: number, c: any) => n + req(c, r), 0);
  const init = (r: string) => Math.max(0, ...(spec.initContainers ?? []).map((c: any) => req(c, r)));
  return { cpu: Math.max(sum('cpu'), init('cpu')), memory: Math.max(sum('memory'), init('memory')) };
}

function nodeAffinityOk(spec: any, node: KubeObject): boolean {
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (node.metadata.labels?.[k] !== v) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms) || terms.length === 0) return true;
  return terms.some((t: any) => matchLabelSelector(node.metadata.labels ?? {}, { matchExpressions: t.matchExpressions ?? [] })
    && matchLabelSelector({ 'metadata.name': node.metadata.name }, { matchExpressions: t.matchFields ?? [] }));
}

/** The filter plugins for one node; undefined when the pod fits. The first failing plugin decides, as in kube-scheduler. */
export function filterNode(spec: any, node: KubeObject, podsOnNode: KubeObject[]): Verdict | undefined {
  if (node.spec?.unschedulable && !tolerates(spec.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
    return { reasons: ['node(s) were unschedulable'], resolvable: false };
  }
  const taint = (node.spec?.taints ?? []).find((t: any) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(spec.tolerations, t));
  if (taint) return { reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`], resolvable: false };
  if (!nodeAffinityOk(spec, node)) return { reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false };
  const wanted = new Set((spec.containers ?? []).flatMap((c: any) => (c.ports ?? []).filter((p: any) => p.hostPort).map((p: any) => `${p.protocol ?? 'TCP'}/${p.hostPort}`)));
  const used = podsOnNode.flatMap((p) => (p.spec.containers ?? []).flatMap((c: any) => (c.ports ?? []).filter((x: any) => x.hostPort).map((x: any) => `${x.protocol ?? 'TCP'}/${x.hostPort}`)));
  if (used.some((u) => wanted.has(u))) return { reasons: ["node(s) didn't have free ports for the requested pod ports"], resolvable: true };
  const alloc = node.status?.allocatable ?? {};
  const want = podRequests(spec);
  const have = podsOnNode.reduce((acc, p) => {
    const r = podRequests(p.spec);
    return { cpu: acc.cpu + r.cpu, memory: acc.memory + r.memory };
  }, { cpu: 0, memory: 0 });
  const reasons: string[] = [];
  if (podsOnNode.length + 1 > parseQuantity(String(alloc.pods ?? 110))) reasons.push('Too many pods');
  if (want.cpu > 0 && have.cpu + want.cpu > parseQuantity(String(alloc.cpu ?? 0))) reasons.push('Insufficient cpu');
  if (want.memory > 0 && have.memory + want.memory > parseQuantity(String(alloc.memory ?? 0))) reasons.push('Insufficient memory');
  return reasons.length ? { reasons, resolvable: true } : undefined;
}

/** "3 x, 1 y" sorted as the scheduler's FitError sorts its histogram. */
function histogram(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

export function unschedulableMessage(nodeCount: number, verdicts: Verdict[]): string {
  const preemption = verdicts.map((v) => (v.resolvable ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling'));
  const main = nodeCount === 0 ? 'no nodes available to schedule pods' : histogram(verdicts.flatMap((v) => v.reasons));
  return `0/${nodeCount} nodes are available: ${main}. preemption: 0/${nodeCount} nodes are available: ${histogram(preemption)}.`;
}

export function scheduler(ctx: Ctx): Controller {
  const { store } = ctx;
  const reported = new Map<string, string>();
  return {
    name: 'scheduler',
    reconcile() {
      const nodes = store.list(kinds.Node).filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
      const pods = store.list(kinds.Pod);
      const bound = new Map<string, KubeObject[]>(nodes.map((n) => [n.metadata.name, []]));
      for (const p of pods) if (p.spec.nodeName && isActive(p)) bound.get(p.spec.nodeName)?.push(p);
      for (const pod of pods) {
        if (pod.spec.nodeName || pod.metadata.deletionTimestamp) continue;
        if ((pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') continue;
        const verdicts: Verdict[] = [];
        const fits: KubeObject[] = [];
        for (const n of nodes) {
          const v = filterNode(pod.spec, n, bound.get(n.metadata.name) ?? []);
          if (v) verdicts.push(v);
          else fits.push(n);
        }
        const ownerUid = pod.metadata.ownerReferences?.[0]?.uid;
        const best = fits
          .map((n) => {
            const load = bound.get(n.metadata.name) ?? [];
            return { n, same: load.filter((p) => ownerUid && p.metadata.ownerReferences?.[0]?.uid === ownerUid).length, all: load.length };
          })
          .sort((a, b) => a.same - b.same || a.all - b.all || a.n.metadata.name.localeCompare(b.n.metadata.name))[0];
        if (!best) {
          const msg = unschedulableMessage(nodes.length, verdicts);
          if (reported.get(pod.metadata.uid) === msg) continue;
          reported.set(pod.metadata.uid, msg);
          ctx.event(pod, 'Warning', 'FailedScheduling', msg, 'default-scheduler');
          store.mutate(kinds.Pod, pod.metadata.namespace, pod.metadata.name, (o) => {
            o.status.conditions = setCondition(o.status.conditions, 'PodScheduled', 'False', 'Unschedulable', msg);
          }, 'status');
          continue;
        }
        reported.delete(pod.metadata.uid);
        const nodeName = best.n.metadata.name as string;
        bound.get(nodeName)!.push(pod);
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
