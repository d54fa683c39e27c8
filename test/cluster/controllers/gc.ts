// The garbage collector: objects whose owners are all gone are deleted (background
// cascading deletion), so deleting a Deployment removes its ReplicaSets and their Pods.
import { RESOURCES } from '../api/resources.js';
import type { Controller, Ctx } from './context.js';

export function garbageCollector(ctx: Ctx): Controller {
  const { store, api } = ctx;
  return {
    name: 'garbage-collector',
    reconcile() {
      const uids = new Set<string>();
      const all = RESOURCES.filter((r) => !r.createOnly).map((r) => ({ r, items: store.list(r) }));
      for (const { items } of all) for (const o of items) uids.add(o.metadata.uid);
      for (const { r, items } of all) {
        for (const o of items) {
          const refs = o.metadata.ownerReferences ?? [];
          if (refs.length === 0 || o.metadata.deletionTimestamp) continue;
          if (refs.some((ref: any) => uids.has(ref.uid))) continue;
          try {
            api.delete(r, o.metadata.namespace, o.metadata.name, { propagationPolicy: 'Background' });
          } catch {
            // removed meanwhile
          }
        }
      }
    },
  };
}
