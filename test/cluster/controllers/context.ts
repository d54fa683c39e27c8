// What every controller gets: the API server (to act as a client would, through the same
// admission and deletion rules), the store (to read and to write status), and the event
// recorder. Also `kinds`, the resource types by Kind.
import { findResource, type ResourceType } from '../api/resources.js';
import type { ApiServer } from '../api/server.js';
import type { KubeObject, Store } from '../api/store.js';

export const kinds = {
  Namespace: findResource('', 'v1', 'namespaces')!,
  Node: findResource('', 'v1', 'nodes')!,
  Pod: findResource('', 'v1', 'pods')!,
  Service: findResource('', 'v1', 'services')!,
  Endpoints: findResource('', 'v1', 'endpoints')!,
  ConfigMap: findResource('', 'v1', 'configmaps')!,
  Secret: findResource('', 'v1', 'secrets')!,
  ServiceAccount: findResource('', 'v1', 'serviceaccounts')!,
  Event: findResource('', 'v1', 'events')!,
  Deployment: findResource('apps', 'v1', 'deployments')!,
  ReplicaSet: findResource('apps', 'v1', 'replicasets')!,
  DaemonSet: findResource('apps', 'v1', 'daemonsets')!,
  Job: findResource('batch', 'v1', 'jobs')!,
  EndpointSlice: findResource('discovery.k8s.io', 'v1', 'endpointslices')!,
} satisfies Record<string, ResourceType>;

export interface Controller {
  name: string;
  /** Level-triggered: look at the whole store and converge. May be async; never runs twice at once. */
  reconcile(): void | Promise<void>;
}

export interface Ctx {
  api: ApiServer;
  store: Store;
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, source?: string): void;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function ownerRef(owner: KubeObject, controller = true): Record<string, unknown> {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller, blockOwnerDeletion: true };
}

export function ownedBy(o: KubeObject, owner: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r: any) => r.uid === owner.metadata.uid && r.controller);
}

/** Events are capped: the oldest go first, as a real cluster's events expire. */
const EVENT_LIMIT = 1000;

/**
 * The event recorder. Like client-go's EventCorrelator, a repeat of the same event (object,
 * type, reason, message, source) updates the first one's count and lastTimestamp instead of
 * adding another, which `kubectl describe` shows as "(x3 over 10s)".
 */
export function makeEventRecorder(store: Store): Ctx['event'] {
  let seq = 0;
  const names: string[] = [];
  const seen = new Map<string, string>();
  return (obj, type, reason, message, source = 'kubelet') => {
    const ns = obj.metadata.namespace ?? 'default';
    if (!store.get(kinds.Namespace, undefined, ns)) return;
    const ts = now();
    const key = JSON.stringify([ns, obj.kind, obj.metadata.name, obj.metadata.uid, type, reason, message, source]);
    const existing = seen.get(key);
    if (existing && store.mutate(kinds.Event, ns, existing, (e) => {
      e.count = (e.count ?? 1) + 1;
      e.lastTimestamp = ts;
    })) return;
    const name = `${obj.metadata.name}.${(Date.now() * 1000 + (seq++ % 1000)).toString(16)}`;
    seen.set(key, name);
    if (seen.size > EVENT_LIMIT * 2) seen.delete(seen.keys().next().value!);
    try {
      store.create(kinds.Event, {
        apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: ns },
        involvedObject: { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid, apiVersion: obj.apiVersion, resourceVersion: obj.metadata.resourceVersion },
        reason, message, type, source: { component: source }, firstTimestamp: ts, lastTimestamp: ts, count: 1, reportingComponent: source, reportingInstance: '',
      });
    } catch {
      return; // namespace terminating: events are dropped, as the real server refuses them
    }
    names.push(`${ns}/${name}`);
    while (names.length > EVENT_LIMIT) {
      const [oldNs, oldName] = names.shift()!.split('/');
      try {
        store.remove(kinds.Event, oldNs, oldName!);
      } catch {
        // already removed with its namespace
      }
    }
  };
}

/** Runs controllers after store changes (coalesced) and on a 1 s tick for time-based work. */
export class Runner {
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private tick?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly store: Store, private readonly controllers: Controller[]) {}

  start(): void {
    this.store.subscribe(() => this.schedule());
    this.tick = setInterval(() => this.schedule(), 1000);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.tick);
    clearTimeout(this.timer);
  }

  schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const c of this.controllers) void this.run(c);
    }, 15);
  }

  private async run(c: Controller): Promise<void> {
    if (this.running.has(c.name)) {
      this.dirty.add(c.name);
      return;
    }
    this.running.add(c.name);
    try {
      await c.reconcile();
    } catch (err) {
      console.error(`controller ${c.name}:`, err);
    } finally {
      this.running.delete(c.name);
      if (this.dirty.delete(c.name) && !this.stopped) void this.run(c);
    }
  }
}
