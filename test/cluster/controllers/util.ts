// Helpers shared by the workload controllers: names like the real controllers make them,
// and the node-eligibility rules (nodeSelector, required node affinity, taints/tolerations).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/store.js';
import { matchLabelSelector } from '../api/selectors.js';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[Math.floor(Math.random() * SAFE.length)];
  return s;
}

/** Stable short hash in the alphabet the real controllers use (pod-template-hash). */
export function safeHash(value: unknown, n = 10): string {
  const digest = createHash('sha256').update(JSON.stringify(value)).digest();
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[digest[i]! % SAFE.length];
  return s;
}

function matchTerm(node: KubeObject, term: any): boolean {
  const labelsOk = matchLabelSelector(node.metadata.labels ?? {}, { matchExpressions: term.matchExpressions ?? [] });
  const fieldsOk = matchLabelSelector({ 'metadata.name': node.metadata.name }, { matchExpressions: term.matchFields ?? [] });
  return labelsOk && fieldsOk;
}

export function tolerates(tolerations: any[] | undefined, taint: any): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** Whether a pod spec may run on the node: the scheduler's and the DaemonSet controller's filter. */
export function nodeFits(podSpec: any, node: KubeObject, ignoreUnschedulable = false): boolean {
  for (const [k, v] of Object.entries(podSpec?.nodeSelector ?? {})) if (node.metadata.labels?.[k] !== v) return false;
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (Array.isArray(terms) && terms.length > 0 && !terms.some((t) => matchTerm(node, t))) return false;
  for (const taint of node.spec?.taints ?? []) {
    if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(podSpec?.tolerations, taint)) return false;
  }
  if (node.spec?.unschedulable && !ignoreUnschedulable && !tolerates(podSpec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return false;
  return true;
}

export function podReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

export function isActive(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** A condition list where lastTransitionTime only changes when the status does. */
export function setCondition(conditions: any[] | undefined, type: string, status: string, reason?: string, message?: string): any[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === type);
  const old = list[i];
  const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const next = { type, status, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : ts, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  if (old && old.lastUpdateTime !== undefined) Object.assign(next, { lastUpdateTime: old.status === status ? old.lastUpdateTime : ts });
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}
