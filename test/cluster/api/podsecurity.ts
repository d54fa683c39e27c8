// Pod Security admission (the built-in PodSecurity plugin): a namespace's labels
// pod-security.kubernetes.io/{enforce,warn,audit}[-version] choose a level (privileged,
// baseline, restricted) and a version (latest or v1.x). Pods that break the enforce level are
// refused (`pods "x" is forbidden: violates PodSecurity "baseline:latest": ...`); the warn
// level adds `would violate PodSecurity ...` warnings; the audit level writes the same text
// as an audit annotation. Workload objects (Deployments, ReplicaSets, DaemonSets, Jobs) are
// only warned about and audited; their pods meet enforcement when the controller creates
// them. Checks, their order and their messages follow k8s.io/pod-security-admission.
import type { KubeObject } from './store.js';
import { errors } from './status.js';

type Level = 'privileged' | 'baseline' | 'restricted';
interface LevelVersion {
  level: Level;
  /** minor version of 1.x, or Infinity for latest */
  minor: number;
}

export const LABEL_PREFIX = 'pod-security.kubernetes.io/';
const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
/** the server's own minor version: newer versions are evaluated as this one */
const SERVER_MINOR = 30;

interface Result {
  reason: string;
  detail: string;
}

type CheckFn = (spec: any, meta: any) => Result | undefined;
interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  since: number;
  overrides?: string;
  fn: CheckFn;
}

const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);
const quoted = (items: string[]) => (items.length ? `"${items.join('", "')}"` : '');
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
const named = (what: string, names: string[]) => `${plural(what, `${what}s`, names.length)} ${quoted(names)}`;

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const ALLOWED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret']);

/** A pod-or-containers setting: "pod and container "x" must not set ..." / "pod or container "x" must set ...". */
function podOrContainers(spec: any, get: (sc: any) => unknown, bad: (v: unknown) => boolean) {
  const podValue = get(spec.securityContext ?? {});
  const setters: string[] = [];
  const badValues = new Set<string>();
  if (podValue !== undefined && bad(podValue)) {
    setters.push('pod');
    badValues.add(String(podValue));
  }
  const podOk = podValue !== undefined && !bad(podValue);
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containersOf(spec)) {
    const v = get(c.securityContext ?? {});
    if (v !== undefined) {
      if (bad(v)) {
        explicit.push(c.name);
        badValues.add(String(v));
      }
    } else if (!podOk) implicit.push(c.name);
  }
  if (explicit.length) setters.push(named('container', explicit));
  return { setters, implicit, badValues: [...badValues].sort() };
}

const CHECKS: Check[] = [
  {
    id: 'capabilities_baseline', level: 'baseline', since: 0, fn: (spec) => {
      const bad: string[] = [];
      const caps = new Set<string>();
      for (const c of containersOf(spec)) {
        const added = (c.securityContext?.capabilities?.add ?? []).filter((x: string) => !BASELINE_CAPS.has(x));
        if (added.length) bad.push(c.name);
        for (const x of added) caps.add(x);
      }
      return bad.length ? { reason: 'non-default capabilities', detail: `${named('container', bad)} must not include ${quoted([...caps].sort())} in securityContext.capabilities.add` } : undefined;
    },
  },
  {
    id: 'hostNamespaces', level: 'baseline', since: 0, fn: (spec) => {
      const ns = [spec.hostNetwork && 'hostNetwork=true', spec.hostPID && 'hostPID=true', spec.hostIPC && 'hostIPC=true'].filter(Boolean) as string[];
      return ns.length ? { reason: 'host namespaces', detail: ns.join(', ') } : undefined;
    },
  },
  {
    id: 'hostPathVolumes', level: 'baseline', since: 0, fn: (spec) => {
      const vols = (spec.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => v.name);
      return vols.length ? { reason: 'hostPath volumes', detail: named('volume', vols) } : undefined;
    },
  },
  {
    id: 'hostPorts', level: 'baseline', since: 0, fn: (spec) => {
      const bad: string[] = [];
      const ports = new Set<string>();
      for (const c of containersOf(spec)) {
        const hp = (c.ports ?? []).filter((p: any) => p.hostPort).map((p: any) => String(p.hostPort));
        if (hp.length) bad.push(c.name);
        for (const p of hp) ports.add(p);
      }
      const list = [...ports].sort();
      return bad.length ? { reason: 'hostPort', detail: `${named('container', bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}` } : undefined;
    },
  },
  {
    id: 'privileged', level: 'baseline', since: 0, fn: (spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
      return bad.length ? { reason: 'privileged', detail: `${named('container', bad)} must not set securityContext.privileged=true` } : undefined;
    },
  },
  {
    id: 'procMount', level: 'baseline', since: 0, fn: (spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.procMount && c.securityContext.procMount !== 'Default');
      const types = [...new Set(bad.map((c) => c.securityContext.procMount as string))].sort();
      return bad.length ? { reason: 'procMount', detail: `${named('container', bad.map((c) => c.name))} must not set securityContext.procMount to ${quoted(types)}` } : undefined;
    },
  },
  {
    id: 'seccompProfile_baseline', level: 'baseline', since: 0, fn: (spec) => {
      const r = podOrContainers(spec, (sc) => sc.seccompProfile?.type, (t) => t === 'Unconfined');
      return r.setters.length ? { reason: 'seccompProfile', detail: `${r.setters.join(' and ')} must not set securityContext.seccompProfile.type to ${quoted(r.badValues)}` } : undefined;
    },
  },
  {
    id: 'sysctls', level: 'baseline', since: 0, fn: (spec) => {
      const bad = (spec.securityContext?.sysctls ?? []).map((s: any) => s.name).filter((n: string) => !SAFE_SYSCTLS.has(n));
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
  {
    id: 'allowPrivilegeEscalation', level: 'restricted', since: 8, fn: (spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
      return bad.length ? { reason: 'allowPrivilegeEscalation != false', detail: `${named('container', bad)} must set securityContext.allowPrivilegeEscalation=false` } : undefined;
    },
  },
  {
    id: 'capabilities_restricted', level: 'restricted', since: 22, overrides: 'capabilities_baseline', fn: (spec) => {
      const missingDrop: string[] = [];
      const adding: string[] = [];
      const caps = new Set<string>();
      for (const c of containersOf(spec)) {
        const cap = c.securityContext?.capabilities;
        if (!(cap?.drop ?? []).includes('ALL')) missingDrop.push(c.name);
        const added = (cap?.add ?? []).filter((x: string) => x !== 'NET_BIND_SERVICE');
        if (added.length) adding.push(c.name);
        for (const x of added) caps.add(x);
      }
      const details = [
        ...(missingDrop.length ? [`${named('container', missingDrop)} must set securityContext.capabilities.drop=["ALL"]`] : []),
        ...(adding.length ? [`${named('container', adding)} must not include ${quoted([...caps].sort())} in securityContext.capabilities.add`] : []),
      ];
      return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'restrictedVolumes', level: 'restricted', since: 0, fn: (spec) => {
      const bad: string[] = [];
      const types = new Set<string>();
      for (const v of spec.volumes ?? []) {
        const type = Object.keys(v).find((k) => k !== 'name');
        if (type && ALLOWED_VOLUMES.has(type)) continue;
        bad.push(v.name);
        if (type) types.add(type);
      }
      const list = [...types].sort();
      return bad.length ? { reason: 'restricted volume types', detail: `${named('volume', bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', list.length)} ${quoted(list)}` } : undefined;
    },
  },
  {
    id: 'runAsNonRoot', level: 'restricted', since: 0, fn: (spec) => {
      const r = podOrContainers(spec, (sc) => sc.runAsNonRoot, (v) => v === false);
      if (r.setters.length) return { reason: 'runAsNonRoot != true', detail: `${r.setters.join(' and ')} must not set securityContext.runAsNonRoot=false` };
      return r.implicit.length ? { reason: 'runAsNonRoot != true', detail: `pod or ${named('container', r.implicit)} must set securityContext.runAsNonRoot=true` } : undefined;
    },
  },
  {
    id: 'runAsUser', level: 'restricted', since: 23, fn: (spec) => {
      const setters = [...(spec.securityContext?.runAsUser === 0 ? ['pod'] : [])];
      const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
      if (bad.length) setters.push(named('container', bad));
      return setters.length ? { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` } : undefined;
    },
  },
  {
    id: 'seccompProfile_restricted', level: 'restricted', since: 19, overrides: 'seccompProfile_baseline', fn: (spec) => {
      const r = podOrContainers(spec, (sc) => sc.seccompProfile?.type, (t) => t !== 'RuntimeDefault' && t !== 'Localhost');
      if (r.setters.length) return { reason: 'seccompProfile', detail: `${r.setters.join(' and ')} must not set securityContext.seccompProfile.type to ${quoted(r.badValues)}` };
      return r.implicit.length ? { reason: 'seccompProfile', detail: `pod or ${named('container', r.implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` } : undefined;
    },
  },
];

function evaluate(lv: LevelVersion, spec: any, meta: any): Result[] {
  if (lv.level === 'privileged') return [];
  const minor = Math.min(lv.minor, SERVER_MINOR);
  const active = CHECKS.filter((c) => c.since <= minor && (c.level === 'baseline' || lv.level === 'restricted'));
  const overridden = new Set(active.map((c) => c.overrides).filter(Boolean));
  return active.filter((c) => !overridden.has(c.id)).map((c) => c.fn(spec, meta)).filter((r): r is Result => !!r);
}

function describe(results: Result[]): string {
  return results.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(', ');
}

const name = (lv: LevelVersion) => `${lv.level}:${lv.minor === Infinity ? 'latest' : `v1.${lv.minor}`}`;

function parseLevel(v: string | undefined): Level | undefined {
  return LEVELS.includes(v as Level) ? (v as Level) : undefined;
}

function parseVersion(v: string | undefined): number | undefined {
  if (v === undefined || v === 'latest') return Infinity;
  const m = /^v1\.(0|[1-9]\d*)$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

interface Policy {
  enforce: LevelVersion;
  warn: LevelVersion;
  audit: LevelVersion;
}

/** The namespace's policy (PolicyToEvaluate): unset modes are privileged, warn follows a stricter enforce. */
export function policyOf(labels: Record<string, string> | undefined): Policy {
  const l = labels ?? {};
  const mode = (m: string, invalid: Level): LevelVersion => {
    const raw = l[`${LABEL_PREFIX}${m}`];
    const level = raw === undefined ? 'privileged' : parseLevel(raw) ?? invalid;
    return { level, minor: parseVersion(l[`${LABEL_PREFIX}${m}-version`]) ?? Infinity };
  };
  const p: Policy = { enforce: mode('enforce', 'restricted'), warn: mode('warn', 'privileged'), audit: mode('audit', 'privileged') };
  const strict = (x: Level) => LEVELS.indexOf(x);
  if (l[`${LABEL_PREFIX}warn`] === undefined && l[`${LABEL_PREFIX}enforce`] !== undefined && strict(p.enforce.level) > strict(p.warn.level)) {
    p.warn = { level: p.enforce.level, minor: l[`${LABEL_PREFIX}warn-version`] === undefined ? p.enforce.minor : p.warn.minor };
  }
  return p;
}

/** Field errors for the namespace's pod-security labels (as namespace validation reports them). */
export function labelErrors(labels: Record<string, string> | undefined): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k.startsWith(LABEL_PREFIX)) continue;
    const mode = k.slice(LABEL_PREFIX.length);
    if (['enforce', 'warn', 'audit'].includes(mode) && !parseLevel(v)) {
      out.push({ field: `metadata.labels[${k}]`, message: `Invalid value: "${v}": must be one of privileged, baseline, restricted` });
    } else if (/^(enforce|warn|audit)-version$/.test(mode) && parseVersion(v) === undefined) {
      out.push({ field: `metadata.labels[${k}]`, message: `Invalid value: "${v}": must be "latest" or "v1.x"` });
    }
  }
  return out;
}

export interface PodSecurityVerdict {
  warnings: string[];
  /** the audit-violations annotation, when the audit level is broken */
  audit?: string;
}

/**
 * Admission of a pod or a workload's pod template. Throws 403 for a pod breaking the enforce
 * level; otherwise returns the warnings and audit annotation.
 * `displayName` is the object's name, or its generateName when the server has not named it.
 */
export function admitPodSecurity(nsLabels: Record<string, string> | undefined, resource: string, displayName: string, spec: any, meta: any, enforce: boolean): PodSecurityVerdict {
  const p = policyOf(nsLabels);
  if (enforce) {
    const broken = evaluate(p.enforce, spec, meta);
    if (broken.length) {
      throw errors.forbidden(`${resource} "${displayName}" is forbidden: violates PodSecurity "${name(p.enforce)}": ${describe(broken)}`, { name: displayName, kind: resource });
    }
  }
  const verdict: PodSecurityVerdict = { warnings: [] };
  const audit = evaluate(p.audit, spec, meta);
  if (audit.length) verdict.audit = `would violate PodSecurity "${name(p.audit)}": ${describe(audit)}`;
  const warn = evaluate(p.warn, spec, meta);
  if (warn.length) verdict.warnings.push(`would violate PodSecurity "${name(p.warn)}": ${describe(warn)}`);
  return verdict;
}

/**
 * Warnings for a namespace whose enforce level changes: the existing pods that would now be
 * refused, one line per distinct violation, named by the first pod (and how many others).
 */
export function existingPodWarnings(ns: string, oldLabels: Record<string, string> | undefined, newLabels: Record<string, string> | undefined, pods: KubeObject[]): string[] {
  const before = policyOf(oldLabels).enforce;
  const after = policyOf(newLabels).enforce;
  if (after.level === 'privileged' || (before.level === after.level && before.minor === after.minor)) return [];
  const byWarning = new Map<string, string[]>();
  for (const pod of [...pods].sort((a, b) => String(a.metadata.name).localeCompare(b.metadata.name))) {
    const broken = evaluate(after, pod.spec ?? {}, pod.metadata);
    if (!broken.length) continue;
    const w = describe(broken);
    byWarning.set(w, [...(byWarning.get(w) ?? []), pod.metadata.name]);
  }
  if (byWarning.size === 0) return [];
  const lines = [...byWarning].map(([w, names]) => {
    const others = names.length - 1;
    return `${names[0]}${others === 0 ? '' : others === 1 ? ' (and 1 other pod)' : ` (and ${others} other pods)`}: ${w}`;
  }).sort();
  return [`existing pods in namespace "${ns}" violate the new PodSecurity enforce level "${name(after)}"`, ...lines];
}

/** The pod spec a workload object carries (undefined for other kinds). */
export function podTemplateOf(kind: string, o: KubeObject): { spec: any; meta: any } | undefined {
  if (['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'ReplicationController'].includes(kind)) {
    const t = o.spec?.template;
    return t?.spec ? { spec: t.spec, meta: t.metadata ?? {} } : undefined;
  }
  return undefined;
}
