// The garbage collector, as kube-controller-manager's: objects whose owners are all gone are
// deleted (background cascading deletion); an owner deleted with propagationPolicy=Orphan
// (finalizer `orphan`) has the references to it removed from its dependents, then goes; an
// owner deleted with propagationPolicy=Foreground (finalizer `foregroundDeletion`) stays
// until every dependent whose reference says blockOwnerDeletion is gone, its dependents being
// deleted in the foreground too (or only unlinked, when another owner still holds them).
import { RESOURCES, type ResourceType } from '../api/resources.js';
import type { KubeObject } from '../api/store.js';
import type { Controller, Ctx } from './context.js';

type Item = { r: ResourceType; o: KubeObject };

export function garbageCollector(ctx: Ctx): Controller {
  const { store, api } = ctx;
  const unlink = (dep: Item, ownerUids: Set<string>) => store.mutate(dep.r, dep.o.metadata.namespace, dep.o.metadata.name, (o) => {
    o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((ref: any) => !ownerUids.has(ref.uid));
    if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
  });
  const del = (item: Item, propagationPolicy: string) => {
    try {
      api.delete(item.r, item.o.metadata.namespace, item.o.metadata.name, { propagationPolicy });
    } catch {
      // removed meanwhile
    }
  };
  return {
    name: 'garbage-collector',
    reconcile() {
      const all: Item[] = RESOURCES.filter((r) => !r.createOnly).flatMap((r) => store.list(r).map((o) => ({ r, o })));
      const byUid = new Map(all.map((i) => [i.o.metadata.uid as string, i]));
      const dependents = new Map<string, Item[]>();
      for (const i of all) for (const ref of i.o.metadata.ownerReferences ?? []) dependents.set(ref.uid, [...(dependents.get(ref.uid) ?? []), i]);
      const waiting = (uid: string) => byUid.get(uid)?.o.metadata.finalizers?.includes('foregroundDeletion') && !!byUid.get(uid)?.o.metadata.deletionTimestamp;

      for (const owner of all) {
        const meta = owner.o.metadata;
        if (!meta.deletionTimestamp) continue;
        const deps = dependents.get(meta.uid) ?? [];
        if (meta.finalizers?.includes('orphan')) {
          for (const d of deps) unlink(d, new Set([meta.uid]));
          api.removeFinalizer(owner.r, meta.namespace, meta.name, 'orphan');
          continue;
        }
        if (!meta.finalizers?.includes('foregroundDeletion')) continue;
        for (const d of deps) {
          if (d.o.metadata.deletionTimestamp) continue;
          const solid = (d.o.metadata.ownerReferences ?? []).filter((ref: any) => byUid.has(ref.uid) && !waiting(ref.uid));
          if (solid.length > 0) unlink(d, new Set([meta.uid]));
          else del(d, (dependents.get(d.o.metadata.uid) ?? []).length > 0 ? 'Foreground' : 'Background');
        }
        const blocking = deps.filter((d) => (d.o.metadata.ownerReferences ?? []).some((ref: any) => ref.uid === meta.uid && ref.blockOwnerDeletion));
        if (blocking.length === 0) api.removeFinalizer(owner.r, meta.namespace, meta.name, 'foregroundDeletion');
      }

      for (const i of all) {
        const refs = i.o.metadata.ownerReferences ?? [];
        if (refs.length === 0 || i.o.metadata.deletionTimestamp) continue;
        if (refs.some((ref: any) => byUid.has(ref.uid))) continue;
        del(i, 'Background');
      }
    },
  };
}
