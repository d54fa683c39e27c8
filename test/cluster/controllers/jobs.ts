// The Job controller (batch/v1) and the TTL-after-finished controller, as kube-controller-manager
// runs them: pods from the template up to `parallelism` until `completions` succeed; failed
// pods are replaced after a back-off until more than `backoffLimit` have failed (container
// restarts count too, for restartPolicy OnFailure); `activeDeadlineSeconds` from startTime.
// A finished Job gets its Complete or Failed condition (reasons BackoffLimitExceeded,
// DeadlineExceeded), completionTime on success, and its running pods are deleted. The TTL
// controller deletes a finished Job `ttlSecondsAfterFinished` after the condition, with
// foreground propagation, as the real one does.
// The back-off starts at 1 s and doubles to 10 s (the real one: 10 s to 6 min), for quick tests.
import type { KubeObject } from '../api/store.js';
import { kinds, now, ownedBy, ownerRef, type Controller, type Ctx } from './context.js';
import { podReady, setCondition } from './util.js';

const SOURCE = 'job-controller';
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 10_000;

function finished(job: KubeObject): { type: string; at: string } | undefined {
  const c = (job.status?.conditions ?? []).find((x: any) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return c && { type: c.type, at: c.lastTransitionTime };
}

function deletePods(ctx: Ctx, job: KubeObject, pods: KubeObject[]): void {
  for (const p of pods) {
    try {
      ctx.api.delete(kinds.Pod, p.metadata.namespace, p.metadata.name, {});
      ctx.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, SOURCE);
    } catch {
      // already gone
    }
  }
}

function createPod(ctx: Ctx, job: KubeObject): void {
  const t = job.spec.template ?? {};
  try {
    const { metadata: { name } } = ctx.api.create(kinds.Pod, job.metadata.namespace, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName: `${job.metadata.name}-`, namespace: job.metadata.namespace, labels: { ...(t.metadata?.labels ?? {}) },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}), ownerReferences: [ownerRef(job)],
      },
      spec: structuredClone(t.spec ?? {}),
    });
    ctx.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, SOURCE);
  } catch (err) {
    ctx.event(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`, SOURCE);
  }
}

export function jobController(ctx: Ctx): Controller {
  const { store } = ctx;
  return {
    name: 'job',
    reconcile() {
      const allPods = store.list(kinds.Pod);
      for (const job of store.list(kinds.Job)) {
        if (job.metadata.deletionTimestamp) continue;
        const pods = allPods.filter((p) => p.metadata.namespace === job.metadata.namespace && ownedBy(p, job));
        const terminating = pods.filter((p) => p.metadata.deletionTimestamp);
        const live = pods.filter((p) => !p.metadata.deletionTimestamp);
        const active = live.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
        const succeeded = live.filter((p) => p.status?.phase === 'Succeeded').length;
        const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
        const restarts = active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m: number, c: any) => m + (c.restartCount ?? 0), 0), 0);
        let failed = Math.max(job.status?.failed ?? 0, failedPods.length);
        const spec = job.spec;
        const done = finished(job);
        const startTime = job.status?.startTime ?? (spec.suspend ? undefined : now());
        let conditions = job.status?.conditions;
        let completionTime = job.status?.completionTime;
        let keepActive = active;
        if (!done && !spec.suspend) {
          const overDeadline = spec.activeDeadlineSeconds !== undefined && startTime && Date.now() - Date.parse(startTime) >= spec.activeDeadlineSeconds * 1000;
          const overBackoff = failed + restarts > spec.backoffLimit;
          const complete = succeeded >= (spec.completions ?? 1);
          if (overDeadline || overBackoff) {
            const [reason, message] = overDeadline
              ? ['DeadlineExceeded', 'Job was active longer than specified deadline']
              : ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
            deletePods(ctx, job, active);
            failed += active.length; // pods the controller terminates count as failed
            keepActive = [];
            conditions = setCondition(conditions, 'Failed', 'True', reason, message);
            ctx.event(job, 'Warning', reason, message, SOURCE);
          } else if (complete) {
            deletePods(ctx, job, active);
            keepActive = [];
            conditions = setCondition(conditions, 'Complete', 'True');
            completionTime = now();
            ctx.event(job, 'Normal', 'Completed', 'Job completed', SOURCE);
          } else {
            const want = Math.min(spec.parallelism ?? 1, (spec.completions ?? 1) - succeeded);
            if (active.length < want && backoffOver(failedPods, failed)) {
              for (let i = active.length; i < want; i++) createPod(ctx, job);
            }
          }
        }
        store.mutate(kinds.Job, job.metadata.namespace, job.metadata.name, (o) => {
          o.status = {
            ...(conditions ? { conditions: conditions.map((c: any) => ({ lastProbeTime: c.lastProbeTime ?? c.lastTransitionTime, ...c })) } : {}),
            ...(startTime ? { startTime } : {}), ...(completionTime ? { completionTime } : {}),
            ...(keepActive.length ? { active: keepActive.length } : {}),
            ...(succeeded ? { succeeded } : {}), ...(failed ? { failed } : {}),
            ready: keepActive.filter(podReady).length, terminating: terminating.length, uncountedTerminatedPods: {},
          };
        }, 'status');
      }
    },
  };
}

/** Whether the back-off after the latest failure has passed (none before the first failure). */
function backoffOver(failedPods: KubeObject[], failed: number): boolean {
  if (failed === 0 || failedPods.length === 0) return true;
  const last = Math.max(...failedPods.map((p) => Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? p.metadata.creationTimestamp)));
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failed - 1));
  return Date.now() - last >= delay;
}

export function ttlAfterFinishedController(ctx: Ctx): Controller {
  return {
    name: 'ttl-after-finished',
    reconcile() {
      for (const job of ctx.store.list(kinds.Job)) {
        const ttl = job.spec?.ttlSecondsAfterFinished;
        const done = finished(job);
        if (ttl === undefined || ttl === null || !done || job.metadata.deletionTimestamp) continue;
        if (Date.now() < Date.parse(done.at) + ttl * 1000) continue;
        try {
          ctx.api.delete(kinds.Job, job.metadata.namespace, job.metadata.name, { propagationPolicy: 'Foreground' });
        } catch {
          // deleted meanwhile
        }
      }
    },
  };
}
