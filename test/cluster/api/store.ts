// The object store behind the API server: objects per resource type, one global
// resourceVersion counter, and a bounded history of change events that watches resume from.
// Controllers subscribe in-process; HTTP watchers replay history then follow live events.
import { randomUUID } from 'node:crypto';
import { ApiError, errors } from './status.js';
import type { ResourceType } from './resources.js';

export type KubeObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any>;
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  resource: ResourceType;
  object: KubeObject;
  rv: number;
}

/** How many past events a watch can resume from; older resourceVersions get 410 Expired. */
const HISTORY_LIMIT = 5000;

function key(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export class Store {
  private rv = 1;
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private oldestResumable = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  get resourceVersion(): number {
    return this.rv;
  }

  private table(r: ResourceType): Map<string, KubeObject> {
    const id = `${r.group}/${r.plural}`;
    let t = this.tables.get(id);
    if (!t) this.tables.set(id, (t = new Map()));
    return t;
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events after `rv`, or undefined when that point has left the bounded history. */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.oldestResumable) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  private emit(type: EventType, resource: ResourceType, object: KubeObject): void {
    const event: StoreEvent = { type, resource, object: clone(object), rv: this.rv };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.oldestResumable = this.history[0]!.rv - 1;
    }
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        console.error('store listener failed:', err);
      }
    }
  }

  get(r: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.table(r).get(key(r.namespaced ? ns : undefined, name));
    return o && clone(o);
  }

  mustGet(r: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.get(r, ns, name);
    if (!o) throw errors.notFound(r.plural, r.group, name);
    return o;
  }

  list(r: ResourceType, ns?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.table(r).values()) if (!ns || !r.namespaced || o.metadata.namespace === ns) out.push(clone(o));
    return out.sort((a, b) => key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)));
  }

  create(r: ResourceType, input: KubeObject): KubeObject {
    const obj = clone(input);
    const meta = (obj.metadata ??= {});
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().replace(/-/g, '').slice(0, 5);
    const t = this.table(r);
    const k = key(r.namespaced ? meta.namespace : undefined, meta.name);
    if (t.has(k)) throw errors.alreadyExists(r.plural, r.group, meta.name);
    if (!r.namespaced) delete meta.namespace;
    meta.uid ??= randomUUID(); // admission may have assigned it (a Job's selector names it)
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (obj.spec !== undefined) meta.generation = 1;
    delete meta.deletionTimestamp;
    this.rv++;
    meta.resourceVersion = String(this.rv);
    t.set(k, obj);
    this.emit('ADDED', r, obj);
    return clone(obj);
  }

  /**
   * Replaces an object. With a resourceVersion in the input it must match (optimistic
   * concurrency, 409 Conflict otherwise). `subresource === 'status'` changes only status;
   * a main-resource update keeps the stored status, as for types with a status subresource.
   */
  update(r: ResourceType, input: KubeObject, subresource?: string): KubeObject {
    const meta = input.metadata ?? {};
    const t = this.table(r);
    const k = key(r.namespaced ? meta.namespace : undefined, meta.name);
    const old = t.get(k);
    if (!old) throw errors.notFound(r.plural, r.group, meta.name);
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) throw errors.conflict(r.plural, r.group, meta.name);
    let obj: KubeObject;
    if (subresource === 'status') {
      obj = clone(old);
      obj.status = clone(input.status);
    } else {
      obj = clone(input);
      obj.metadata = { ...clone(meta), uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, namespace: old.metadata.namespace };
      if (!r.namespaced) delete obj.metadata.namespace;
      if (old.metadata.deletionTimestamp) obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      if (r.subresources?.includes('status') && r.kind !== 'Namespace') obj.status = clone(old.status);
      if (old.metadata.generation !== undefined) {
        obj.metadata.generation = JSON.stringify(old.spec) === JSON.stringify(obj.spec) ? old.metadata.generation : old.metadata.generation + 1;
      }
    }
    if (JSON.stringify(obj) === JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: obj.metadata.resourceVersion } })) {
      return clone(old); // no-op update: same resourceVersion, no event, as the real server
    }
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    t.set(k, obj);
    this.emit('MODIFIED', r, obj);
    return clone(obj);
  }

  /** Read-modify-write for controllers; retries are not needed as everything runs in one thread. */
  mutate(r: ResourceType, ns: string | undefined, name: string, fn: (o: KubeObject) => void, subresource?: string): KubeObject | undefined {
    const o = this.get(r, ns, name);
    if (!o) return undefined;
    fn(o);
    try {
      return this.update(r, o, subresource);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  remove(r: ResourceType, ns: string | undefined, name: string): KubeObject {
    const t = this.table(r);
    const k = key(r.namespaced ? ns : undefined, name);
    const old = t.get(k);
    if (!old) throw errors.notFound(r.plural, r.group, name);
    t.delete(k);
    this.rv++;
    old.metadata.resourceVersion = String(this.rv);
    this.emit('DELETED', r, old);
    return clone(old);
  }
}
