// Preflight: before anything is created, one SelfSubjectAccessReview per verb and resource
// the session needs, asked in parallel. What is missing is reported all at once, so the user
// (or their admin) sees the whole list, not the first refusal of many.
import type { KubeClient } from './client.js';
import { PermissionError } from './errors.js';

export interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** '' for cluster-scoped resources or every namespace. */
  namespace: string;
  name?: string;
}

/** What a session that installs its own stack needs in the tap namespace and cluster-wide. */
export function installAccess(tapNamespace: string, withReaper: boolean): Access[] {
  const ns = tapNamespace;
  const list: Access[] = [
    ...['create', 'get', 'patch', 'delete'].map((verb) => ({ verb, group: '', resource: 'namespaces', namespace: '' })),
    { verb: 'create', group: '', resource: 'serviceaccounts', namespace: ns },
    { verb: 'create', group: '', resource: 'secrets', namespace: ns },
    { verb: 'create', group: 'apps', resource: 'daemonsets', namespace: ns },
    { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: ns },
    ...tapperAccess(ns),
    { verb: 'list', group: '', resource: 'events', namespace: ns },
  ];
  if (withReaper) {
    list.push(
      { verb: 'create', group: 'batch', resource: 'jobs', namespace: ns },
      { verb: 'patch', group: 'batch', resource: 'jobs', namespace: ns },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: '' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespace: '' },
      { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: '' },
      { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespace: '' },
    );
  }
  return list;
}

/** Reaching the tappers: find their pods, send targets, read entries (pods/proxy get and update). */
export function tapperAccess(tapNamespace: string): Access[] {
  return [
    { verb: 'list', group: '', resource: 'pods', namespace: tapNamespace },
    { verb: 'watch', group: '', resource: 'pods', namespace: tapNamespace },
    { verb: 'get', group: '', resource: 'pods', subresource: 'proxy', namespace: tapNamespace },
    { verb: 'update', group: '', resource: 'pods', subresource: 'proxy', namespace: tapNamespace },
  ];
}

/** --use-installed: only reach the tappers and read their Secret. */
export function useInstalledAccess(tapNamespace: string, secretName: string): Access[] {
  return [...tapperAccess(tapNamespace), { verb: 'get', group: '', resource: 'secrets', namespace: tapNamespace, name: secretName }];
}

/**
 * Naming what is seen: pods, services and endpointslices in every tapped namespace ('' for
 * all). Nodes and ReplicaSets only improve names (node IPs, `deployment/x`), so they are asked
 * separately and a refusal is a warning, not an error.
 */
export function resolverAccess(namespaces: string[]): { required: Access[]; optional: Access[] } {
  const required: Access[] = [];
  const optional: Access[] = [];
  for (const namespace of namespaces) {
    for (const verb of ['list', 'watch']) {
      required.push({ verb, group: '', resource: 'pods', namespace });
      required.push({ verb, group: '', resource: 'services', namespace });
      required.push({ verb, group: 'discovery.k8s.io', resource: 'endpointslices', namespace });
      optional.push({ verb, group: 'apps', resource: 'replicasets', namespace });
    }
  }
  for (const verb of ['list', 'watch']) optional.push({ verb, group: '', resource: 'nodes', namespace: '' });
  return { required, optional };
}

export async function missingAccess(client: KubeClient, wanted: Access[]): Promise<Access[]> {
  const unique = [...new Map(wanted.map((a) => [describeAccess(a), a])).values()];
  const answers = await Promise.all(unique.map((a) => allowed(client, a)));
  return unique.filter((_, i) => !answers[i]);
}

/** Throws a PermissionError naming everything missing; nothing has been created yet. */
export async function requireAccess(client: KubeClient, wanted: Access[], user: string): Promise<void> {
  const missing = await missingAccess(client, wanted);
  if (missing.length === 0) return;
  throw new PermissionError(`${user} may not ${missing.map(describeAccess).join('; ')} (nothing was created; an admin can grant these, or pre-install the stack with 'kubectl tap manifests' for --use-installed)`);
}

async function allowed(client: KubeClient, a: Access): Promise<boolean> {
  const review = await client.create<{ status?: { allowed?: boolean } }>('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      resourceAttributes: {
        verb: a.verb, group: a.group, resource: a.resource,
        ...(a.subresource ? { subresource: a.subresource } : {}),
        ...(a.namespace ? { namespace: a.namespace } : {}),
        ...(a.name ? { name: a.name } : {}),
      },
    },
  });
  return review.status?.allowed === true;
}

/** "create daemonsets.apps in kubectl-tap", "list nodes", "get pods/proxy in kubectl-tap". */
export function describeAccess(a: Access): string {
  const resource = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
  const scope = a.namespace ? ` in ${a.namespace}` : '';
  return `${a.verb} ${resource}${a.name ? ` ${a.name}` : ''}${scope}`;
}
