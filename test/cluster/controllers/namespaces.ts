// Namespaces: every active namespace gets its `default` ServiceAccount and the
// kube-root-ca.crt ConfigMap; a deleted namespace stays Terminating while its contents are
// deleted (pods stopped first) and is removed a few seconds later, as a real cluster does.
import { RESOURCES } from '../api/resources.js';
import { kinds, now, type Controller, type Ctx } from './context.js';

/**
 * How long a namespace stays Terminating at least, so clients can observe the phase. 2.5 s
 * was too short for `make test` on a loaded 2-core machine: one kubectl call there can take
 * longer, and cluster.test.ts then found the namespace already gone (2 runs in 3).
 */
const TERMINATING_MIN_MS = 8000;

export function namespaceController(ctx: Ctx, caPem: string): Controller {
  const { store, api } = ctx;
  return {
    name: 'namespace',
    reconcile() {
      for (const ns of store.list(kinds.Namespace)) {
        const name = ns.metadata.name as string;
        if (ns.status?.phase !== 'Terminating') {
          if (!store.get(kinds.ServiceAccount, name, 'default')) {
            store.create(kinds.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
          }
          if (!store.get(kinds.ConfigMap, name, 'kube-root-ca.crt')) {
            store.create(kinds.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: name }, data: { 'ca.crt': caPem } });
          }
          continue;
        }
        let remaining = 0;
        for (const r of RESOURCES) {
          if (!r.namespaced || r.createOnly) continue;
          for (const o of store.list(r, name)) {
            remaining++;
            if (o.metadata.deletionTimestamp) continue;
            try {
              api.delete(r, name, o.metadata.name, { propagationPolicy: 'Background' });
            } catch {
              // removed meanwhile
            }
          }
        }
        const since = Date.parse(ns.metadata.deletionTimestamp ?? now());
        if (remaining === 0 && Date.now() - since >= TERMINATING_MIN_MS) {
          try {
            store.remove(kinds.Namespace, undefined, name);
          } catch {
            // removed meanwhile
          }
        }
      }
    },
  };
}

/** The DELETE hook for namespaces: enter Terminating instead of disappearing. */
export function beginNamespaceDeletion(ctx: Ctx, name: string): void {
  ctx.store.mutate(kinds.Namespace, undefined, name, (ns) => {
    ns.metadata.deletionTimestamp = now();
    ns.status = { ...ns.status, phase: 'Terminating' };
  });
}
