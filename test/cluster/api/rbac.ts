// RBAC authorization as the real API server does it: system:masters may do anything; every
// other request needs a rule from a ClusterRole bound cluster-wide, or from a Role or
// ClusterRole bound in the request's namespace. Also the bootstrap roles kubectl users expect.
import type { Store, KubeObject } from './store.js';
import { findResource } from './resources.js';

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface Attributes {
  verb: string;
  namespace?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  /** non-resource requests: the path */
  path?: string;
}

interface Rule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!rule.verbs?.some((v) => v === '*' || v === a.verb)) return false;
  if (a.path !== undefined) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))));
  }
  if (!rule.apiGroups?.some((g) => g === '*' || g === (a.apiGroup ?? ''))) return false;
  const full = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!rule.resources?.some((x) => x === '*' || x === full || (x === `*/${a.subresource}` && a.subresource) || (x === `${a.resource}/*` && a.subresource))) return false;
  if (rule.resourceNames?.length && !(a.name && rule.resourceNames.includes(a.name))) return false;
  return true;
}

function subjectMatches(subjects: any[] | undefined, user: UserInfo, bindingNs?: string): boolean {
  return (subjects ?? []).some((s) =>
    (s.kind === 'User' && s.name === user.name) ||
    (s.kind === 'Group' && user.groups.includes(s.name)) ||
    (s.kind === 'ServiceAccount' && user.name === `system:serviceaccount:${s.namespace ?? bindingNs}:${s.name}`));
}

export class Authorizer {
  constructor(private readonly store: Store) {}

  private roleRules(kind: string, name: string, ns?: string): Rule[] {
    const res = findResource('rbac.authorization.k8s.io', 'v1', kind === 'ClusterRole' ? 'clusterroles' : 'roles')!;
    const role = this.store.get(res, ns, name);
    return (role?.rules ?? []) as Rule[];
  }

  /** Every rule that applies to the user in the namespace (cluster-wide ones included). */
  rulesFor(user: UserInfo, ns?: string): Rule[] {
    const rules: Rule[] = [];
    const crb = findResource('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!;
    for (const b of this.store.list(crb)) if (subjectMatches(b.subjects, user)) rules.push(...this.roleRules('ClusterRole', b.roleRef?.name));
    if (ns) {
      const rb = findResource('rbac.authorization.k8s.io', 'v1', 'rolebindings')!;
      for (const b of this.store.list(rb, ns)) {
        if (subjectMatches(b.subjects, user, ns)) rules.push(...this.roleRules(b.roleRef?.kind, b.roleRef?.name, b.roleRef?.kind === 'Role' ? ns : undefined));
      }
    }
    return rules;
  }

  allowed(user: UserInfo, a: Attributes): boolean {
    if (user.groups.includes('system:masters')) return true;
    return this.rulesFor(user, a.namespace).some((rule) => ruleAllows(rule, a));
  }
}

export function forbiddenMessage(user: UserInfo, a: Attributes): string {
  if (a.path !== undefined) return `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const full = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const subject = a.name ? `${full} "${a.name}"` : full;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${full}" in API group "${a.apiGroup ?? ''}"${where}`;
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const NAMESPACED_CORE = ['pods', 'pods/log', 'pods/status', 'services', 'services/status', 'endpoints', 'configmaps', 'serviceaccounts', 'events', 'persistentvolumeclaims'];
const BATCH = ['jobs', 'jobs/status'];
const APPS = ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'daemonsets', 'daemonsets/status'];

/** The bootstrap ClusterRoles and bindings a fresh cluster has (a subset of the real ones). */
export function bootstrapRbac(): KubeObject[] {
  const cr = (name: string, rules: Rule[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, rules,
  });
  const crb = (name: string, role: string, subjects: any[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects,
  });
  const authenticated = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }];
  const view: Rule[] = [
    { apiGroups: [''], resources: [...NAMESPACED_CORE, 'namespaces', 'namespaces/status'], verbs: READ },
    { apiGroups: ['apps'], resources: APPS, verbs: READ },
    { apiGroups: ['batch'], resources: BATCH, verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  ];
  const edit: Rule[] = [
    ...view,
    { apiGroups: [''], resources: [...NAMESPACED_CORE, 'secrets', 'pods/proxy', 'services/proxy'], verbs: [...READ, ...WRITE] },
    { apiGroups: ['apps'], resources: APPS, verbs: [...READ, ...WRITE] },
    { apiGroups: ['batch'], resources: BATCH, verbs: [...READ, ...WRITE] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: [...READ, ...WRITE] },
  ];
  const admin: Rule[] = [
    ...edit,
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
  ];
  return [
    cr('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
    cr('admin', admin),
    cr('edit', edit),
    cr('view', view),
    cr('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*', '/version', '/version/'], verbs: ['get'] }]),
    cr('system:basic-user', [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] }, { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] }]),
    crb('cluster-admin', 'cluster-admin', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }]),
    crb('system:discovery', 'system:discovery', authenticated),
    crb('system:basic-user', 'system:basic-user', authenticated),
  ];
}
