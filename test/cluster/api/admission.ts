// What the real API server does to an object before storing it: defaulting (the fields a
// real cluster fills in), validation (422 Invalid with field causes), and allocation of
// Service ClusterIPs from the service range.
import { errors } from './status.js';
import type { KubeObject, Store } from './store.js';
import { findResource, type ResourceType } from './resources.js';
import { randomUUID } from 'node:crypto';
import { isQuantity, parseQuantity } from '../controllers/quantity.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Cause = { field: string; message: string; reason?: string };

function validateName(r: ResourceType, name: unknown, causes: Cause[]): void {
  if (!name) {
    causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' });
    return;
  }
  const label = r.kind === 'Namespace' || r.kind === 'Service';
  const ok = typeof name === 'string' && name.length <= (label ? 63 : 253) && (label ? DNS_LABEL : DNS_SUBDOMAIN).test(name);
  if (!ok && !['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(r.kind)) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${String(name)}": a lowercase RFC 1123 ${label ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
  }
}

function validateContainers(containers: any, field: string, causes: Cause[]): void {
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ field, message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  containers.forEach((c: any, i: number) => {
    if (!c?.name) causes.push({ field: `${field}[${i}].name`, message: 'Required value', reason: 'FieldValueRequired' });
    else if (!DNS_LABEL.test(c.name)) causes.push({ field: `${field}[${i}].name`, message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    if (!c?.image) causes.push({ field: `${field}[${i}].image`, message: 'Required value', reason: 'FieldValueRequired' });
  });
}

function defaultPodSpec(spec: any): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    c.imagePullPolicy ??= c.image?.endsWith(':latest') || !c.image?.includes(':') ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    // a limit without a request requests the limit
    for (const [r, v] of Object.entries(c.resources.limits ?? {})) {
      if (c.resources.requests?.[r] === undefined) c.resources.requests = { ...(c.resources.requests ?? {}), [r]: v };
    }
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
  spec.tolerations ??= [];
}

function validateResources(spec: any, causes: Cause[]): void {
  (spec.containers ?? []).forEach((c: any, i: number) => {
    for (const [r, v] of Object.entries(c.resources?.requests ?? {})) {
      const limit = c.resources?.limits?.[r];
      if (!isQuantity(v)) causes.push({ field: `spec.containers[${i}].resources.requests[${r}]`, message: `Invalid value: "${v}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` });
      else if (limit !== undefined && parseQuantity(v as string) > parseQuantity(limit as string)) {
        causes.push({ field: `spec.containers[${i}].resources.requests`, message: `Invalid value: "${v}": must be less than or equal to ${r} limit of ${limit}` });
      }
    }
  });
}

/** The pod's QoS class: Guaranteed (every container limits = requests for cpu and memory), BestEffort (none set), else Burstable. */
function qosClass(spec: any): string {
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const any = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) => ['cpu', 'memory'].every((r) => c.resources?.limits?.[r] !== undefined
    && parseQuantity(String(c.resources.limits[r])) === parseQuantity(String(c.resources?.requests?.[r] ?? c.resources.limits[r]))));
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function selectorMatchesTemplate(o: KubeObject, causes: Cause[]): void {
  const sel = o.spec?.selector;
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) {
    causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  const labels = o.spec?.template?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels[k] !== v) {
      causes.push({ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
      return;
    }
  }
}

function allocateClusterIP(store: Store, r: ResourceType): string {
  const used = new Set(store.list(r).map((s) => s.spec?.clusterIP));
  for (let i = 11; i < 65000; i++) {
    const ip = `10.96.${Math.floor(i / 254)}.${(i % 254) + 1}`;
    if (!used.has(ip)) return ip;
  }
  throw errors.serviceUnavailable('service IP range exhausted');
}

/** Fills defaults and validates; throws ApiError 422 on invalid objects. `old` is set for updates. */
export function admit(store: Store, r: ResourceType, o: KubeObject, old?: KubeObject): void {
  const causes: Cause[] = [];
  if (!old) validateName(r, o.metadata?.name, causes);
  o.metadata.labels ??= undefined;
  if (o.metadata.labels === undefined) delete o.metadata.labels;
  switch (r.kind) {
    case 'Namespace':
      o.spec ??= { finalizers: ['kubernetes'] };
      o.status ??= { phase: 'Active' };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      break;
    case 'Pod':
      o.spec ??= {};
      validateContainers(o.spec.containers, 'spec.containers', causes);
      if (!['Always', 'OnFailure', 'Never'].includes(o.spec.restartPolicy ?? 'Always')) {
        causes.push({ field: 'spec.restartPolicy', message: `Unsupported value: "${o.spec.restartPolicy}": supported values: "Always", "OnFailure", "Never"`, reason: 'FieldValueNotSupported' });
      }
      defaultPodSpec(o.spec);
      validateResources(o.spec, causes);
      if (!old) o.status = { phase: 'Pending', qosClass: qosClass(o.spec) };
      if (old && JSON.stringify(old.spec?.containers?.map((c: any) => c.name)) !== JSON.stringify(o.spec.containers?.map((c: any) => c.name))) {
        causes.push({ field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`', reason: 'FieldValueForbidden' });
      }
      break;
    case 'Service': {
      o.spec ??= {};
      o.spec.type ??= 'ClusterIP';
      o.spec.sessionAffinity ??= 'None';
      o.spec.ipFamilies ??= ['IPv4'];
      o.spec.ipFamilyPolicy ??= 'SingleStack';
      o.spec.internalTrafficPolicy ??= 'Cluster';
      if (!Array.isArray(o.spec.ports) || o.spec.ports.length === 0) {
        if (o.spec.type !== 'ExternalName' && o.spec.clusterIP !== 'None') causes.push({ field: 'spec.ports', message: 'Required value', reason: 'FieldValueRequired' });
      }
      for (const p of o.spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
        if (!(p.port > 0 && p.port < 65536)) causes.push({ field: 'spec.ports.port', message: `Invalid value: ${p.port}: must be between 1 and 65535, inclusive` });
      }
      if (old) {
        if (o.spec.clusterIP && o.spec.clusterIP !== old.spec?.clusterIP) causes.push({ field: 'spec.clusterIPs[0]', message: 'Invalid value: field is immutable' });
        o.spec.clusterIP = old.spec?.clusterIP;
        o.spec.clusterIPs = old.spec?.clusterIPs;
      } else if (o.spec.type !== 'ExternalName' && causes.length === 0) {
        if (o.spec.clusterIP !== 'None') o.spec.clusterIP ??= allocateClusterIP(store, r);
        o.spec.clusterIPs = [o.spec.clusterIP];
      }
      o.status ??= { loadBalancer: {} };
      break;
    }
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      o.spec ??= {};
      if (r.kind !== 'DaemonSet') o.spec.replicas ??= 1;
      if (r.kind === 'Deployment') {
        o.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
        o.spec.revisionHistoryLimit ??= 10;
        o.spec.progressDeadlineSeconds ??= 600;
      }
      if (r.kind === 'DaemonSet') o.spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      selectorMatchesTemplate(o, causes);
      validateContainers(o.spec.template?.spec?.containers, 'spec.template.spec.containers', causes);
      if (o.spec.template?.spec) defaultPodSpec(o.spec.template.spec);
      if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(o.spec.selector)) {
        causes.push({ field: 'spec.selector', message: 'Invalid value: field is immutable' });
      }
      o.status ??= {};
      break;
    case 'Job':
      admitJob(o, old, causes);
      break;
    case 'Secret':
      o.type ??= 'Opaque';
      if (o.stringData) {
        o.data = { ...(o.data ?? {}) };
        for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
        delete o.stringData;
      }
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      if (!o.roleRef?.name) causes.push({ field: 'roleRef.name', message: 'Required value', reason: 'FieldValueRequired' });
      if (old && JSON.stringify(old.roleRef) !== JSON.stringify(o.roleRef)) causes.push({ field: 'roleRef', message: 'Invalid value: cannot change roleRef' });
      break;
    default:
      break;
  }
  if (causes.length) throw errors.invalid(r.kind, r.group, o.metadata?.name ?? '', causes);
}

/**
 * batch/v1 Job defaults and validation: the generated selector on the Job's own uid (its
 * pods carry it as labels), parallelism/completions 1, backoffLimit 6, and a template
 * restartPolicy of OnFailure or Never.
 */
function admitJob(o: KubeObject, old: KubeObject | undefined, causes: Cause[]): void {
  o.spec ??= {};
  const spec = o.spec;
  spec.parallelism ??= 1;
  if (spec.completions === undefined && spec.completionMode !== 'Indexed') spec.completions = 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  const template = (spec.template ??= {});
  const policy = template.spec?.restartPolicy;
  if (policy === undefined) causes.push({ field: 'spec.template.spec.restartPolicy', message: 'Required value: valid values: "OnFailure", "Never"', reason: 'FieldValueRequired' });
  else if (policy !== 'OnFailure' && policy !== 'Never') causes.push({ field: 'spec.template.spec.restartPolicy', message: `Unsupported value: "${policy}": supported values: "OnFailure", "Never"`, reason: 'FieldValueNotSupported' });
  validateContainers(template.spec?.containers, 'spec.template.spec.containers', causes);
  for (const f of ['activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'backoffLimit']) {
    if (spec[f] !== undefined && !(Number.isInteger(spec[f]) && spec[f] >= (f === 'activeDeadlineSeconds' ? 1 : 0))) {
      causes.push({ field: `spec.${f}`, message: `Invalid value: ${JSON.stringify(spec[f])}: must be greater than or equal to ${f === 'activeDeadlineSeconds' ? 1 : 0}` });
    }
  }
  if (template.spec) defaultPodSpec(template.spec);
  if (old) {
    if (JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) causes.push({ field: 'spec.selector', message: 'Invalid value: field is immutable' });
    if (JSON.stringify(old.spec?.template) !== JSON.stringify(spec.template)) causes.push({ field: 'spec.template', message: 'Invalid value: field is immutable' });
    o.metadata.uid = old.metadata.uid;
  } else if (!spec.manualSelector) {
    const uid = (o.metadata.uid = randomUUID());
    const ids = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': o.metadata.name, 'controller-uid': uid, 'job-name': o.metadata.name };
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), ...ids } };
  }
  o.status ??= {};
}

/** Creating in a namespace needs the namespace to exist and not be terminating. */
export function checkNamespace(store: Store, r: ResourceType, ns: string | undefined, name: string): void {
  if (!r.namespaced || !ns) return;
  const nsObj = store.get(findResource('', 'v1', 'namespaces')!, undefined, ns);
  if (!nsObj) throw errors.notFound('namespaces', '', ns);
  if (nsObj.status?.phase === 'Terminating') throw errors.namespaceTerminating(ns, r.plural, name);
}
