// The stack's objects in the cluster: create them in dependency order, find them again by
// label, delete them and wait until they are gone. A session's stack lives in its own
// namespace, so deleting the namespace removes the namespaced part; the reaper's ClusterRole
// and binding are owned by that namespace (the garbage collector's route) and are also
// deleted by name, so teardown does not wait on the collector.
import type { KubeClient } from './client.js';
import { ApiError, StackError } from './errors.js';
import { LABELS, MANAGED_SELECTOR } from './labels.js';
import type { KubeObject } from './manifests.js';

const COLLECTIONS: Record<string, { base: string; plural: string; namespaced: boolean }> = {
  Namespace: { base: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { base: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Secret: { base: '/api/v1', plural: 'secrets', namespaced: true },
  DaemonSet: { base: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  Job: { base: '/apis/batch/v1', plural: 'jobs', namespaced: true },
  ClusterRole: { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
};

export function collectionPath(kind: string, namespace?: string): string {
  const c = COLLECTIONS[kind];
  if (!c) throw new Error(`no API path known for kind ${kind}`);
  return c.namespaced ? `${c.base}/namespaces/${namespace}/${c.plural}` : `${c.base}/${c.plural}`;
}

export function objectPath(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${collectionPath(obj.kind, obj.metadata.namespace)}/${obj.metadata.name}`;
}

export function describeObject(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${obj.kind.toLowerCase()}/${obj.metadata.name}${obj.metadata.namespace ? ` (in ${obj.metadata.namespace})` : ''}`;
}

export interface InstalledStack {
  namespace: string;
  created: KubeObject[];
  /** The reaper Job's creation, by our own clock (its deadline is renewed relative to it). */
  jobCreatedAt?: number;
}

/**
 * Creates the objects in order; the namespace's UID becomes the owner of the cluster-scoped
 * objects and the Job's UID the owner of the tappers, so the garbage collector removes them
 * along whatever the reaper or the Job's deadline removes. On a failure, what was created is
 * removed again (and the error raised): a half-made stack never stays behind.
 */
export async function installStack(client: KubeClient, objects: KubeObject[], extraNamespaceAnnotations: Record<string, string>): Promise<InstalledStack> {
  const ns = objects.find((o) => o.kind === 'Namespace')!;
  const stack: InstalledStack = { namespace: ns.metadata.name, created: [] };
  try {
    const nsObj = structuredClone(ns);
    Object.assign((nsObj.metadata.annotations ??= {}), extraNamespaceAnnotations);
    const createdNs = await client.create<KubeObject>(collectionPath('Namespace'), nsObj);
    stack.created.push(createdNs);
    const nsOwner = { apiVersion: 'v1', kind: 'Namespace', name: createdNs.metadata.name, uid: createdNs.metadata.uid as string };
    let jobOwner: Record<string, unknown> | undefined;
    for (const obj of objects) {
      if (obj === ns) continue;
      const body = structuredClone(obj);
      if (!COLLECTIONS[obj.kind]!.namespaced) body.metadata.ownerReferences = [nsOwner];
      if (obj.kind === 'DaemonSet' && jobOwner) body.metadata.ownerReferences = [jobOwner];
      const created = await client.create<KubeObject>(collectionPath(obj.kind, obj.metadata.namespace), body);
      stack.created.push(created);
      if (obj.kind === 'Job') {
        stack.jobCreatedAt = Date.now();
        jobOwner = { apiVersion: 'batch/v1', kind: 'Job', name: created.metadata.name, uid: created.metadata.uid, blockOwnerDeletion: false };
      }
    }
    return stack;
  } catch (err) {
    await deleteStack(client, stack.namespace, stack.created).catch(() => undefined);
    const what = err instanceof ApiError ? `${err.method} ${err.path}: ${err.message}` : String(err);
    const hint = err instanceof ApiError && err.code === 404 && err.path.includes('/apis/batch/') ? ' (this cluster serves no batch/v1 Jobs, which the self-removal needs: --orphan-timeout 0 runs without it)' : '';
    throw new StackError(`could not install the stack: ${what}${hint}; what was created has been removed`);
  }
}

export interface TeardownResult {
  removed: string[];
  remaining: string[];
}

/** Deletes the namespace and our cluster-scoped objects, then waits (up to timeoutMs) until they are gone. */
export async function deleteStack(
  client: KubeClient,
  namespace: string,
  clusterScoped: { kind: string; metadata: { name: string } }[],
  opts: { timeoutMs?: number; onWait?: (remaining: string[]) => void; hurried?: () => boolean } = {},
): Promise<TeardownResult> {
  const targets = [
    { kind: 'Namespace', metadata: { name: namespace } },
    ...clusterScoped.filter((o) => !COLLECTIONS[o.kind]?.namespaced && o.kind !== 'Namespace').map((o) => ({ kind: o.kind, metadata: { name: o.metadata.name } })),
  ];
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  // Deletes are asked again on every round until each is accepted: an API server that is
  // briefly unreachable must not leave the stack behind while there is time left.
  const asked = new Set<(typeof targets)[number]>();
  let remaining = targets;
  for (;;) {
    let failure: unknown;
    for (const t of remaining) {
      if (asked.has(t)) continue;
      try {
        await client.delete(objectPath(t));
        asked.add(t);
      } catch (err) {
        failure = err;
      }
    }
    const present = await Promise.all(remaining.map((t) => client.getIfExists(objectPath(t)).then((o) => o !== undefined, () => true)));
    remaining = remaining.filter((_, i) => present[i]);
    if (remaining.length === 0) break;
    if (Date.now() > deadline || (opts.hurried?.() && remaining.every((t) => asked.has(t)))) {
      if (failure && asked.size === 0) throw failure;
      break;
    }
    opts.onWait?.(remaining.map(describeObject));
    await new Promise((r) => setTimeout(r, 500));
  }
  const gone = new Set(remaining);
  return { removed: targets.filter((t) => !gone.has(t)).map(describeObject), remaining: remaining.map(describeObject) };
}

export interface FoundStack {
  namespace: string;
  session?: string;
  owner?: string;
  preinstalled: boolean;
  /** Milliseconds since the last heartbeat, by our clock; undefined when there is none. */
  heartbeatAgeMs?: number;
  terminating: boolean;
  /** Our cluster-scoped objects that belong to this stack's namespace. */
  clusterScoped: KubeObject[];
}

/** Every stack of ours in the cluster, found by label (namespaces, and reaper RBAC whose namespace is gone). */
export async function findStacks(client: KubeClient): Promise<{ stacks: FoundStack[]; orphans: KubeObject[] }> {
  const [namespaces, roles, bindings] = await Promise.all([
    client.get<{ items: KubeObject[] }>(collectionPath('Namespace'), { query: { labelSelector: MANAGED_SELECTOR } }),
    listOrEmpty(client, collectionPath('ClusterRole')),
    listOrEmpty(client, collectionPath('ClusterRoleBinding')),
  ]);
  const rbac = [...roles.map((o) => ({ ...o, kind: 'ClusterRole' })), ...bindings.map((o) => ({ ...o, kind: 'ClusterRoleBinding' }))];
  const stacks = namespaces.items.map((ns) => describeStack(ns, rbac));
  const names = new Set(stacks.map((s) => s.namespace));
  const orphans = rbac.filter((o) => !names.has(reaperNamespaceOf(o) ?? ''));
  return { stacks, orphans };
}

export function describeStack(ns: KubeObject, rbac: KubeObject[] = []): FoundStack {
  const annotations = ns.metadata.annotations ?? {};
  const beat = annotations[LABELS.heartbeat] ? Date.parse(annotations[LABELS.heartbeat]!) : NaN;
  return {
    namespace: ns.metadata.name,
    session: annotations[LABELS.session],
    owner: annotations[LABELS.owner],
    preinstalled: ns.metadata.labels?.[LABELS.preinstalled] === 'true',
    heartbeatAgeMs: Number.isNaN(beat) ? undefined : Math.max(0, Date.now() - beat),
    terminating: ns.metadata.deletionTimestamp !== undefined,
    clusterScoped: rbac.filter((o) => reaperNamespaceOf(o) === ns.metadata.name),
  };
}

/** The reaper's ClusterRole and binding are named after the namespace they may delete. */
function reaperNamespaceOf(obj: KubeObject): string | undefined {
  const owner = (obj.metadata.ownerReferences as { kind: string; name: string }[] | undefined)?.find((r) => r.kind === 'Namespace');
  return owner?.name ?? /^kubectl-tap-reaper-(.+)$/.exec(obj.metadata.name)?.[1];
}

async function listOrEmpty(client: KubeClient, path: string): Promise<KubeObject[]> {
  try {
    return (await client.get<{ items: KubeObject[] }>(path, { query: { labelSelector: MANAGED_SELECTOR } })).items;
  } catch (err) {
    if (err instanceof ApiError && (err.code === 403 || err.code === 404)) return [];
    throw err;
  }
}
