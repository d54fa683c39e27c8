// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for, with the
// columns the real API server returns per type (priority 1 columns appear with -o wide).
import type { KubeObject } from './store.js';
import type { ResourceType } from './resources.js';

type Column = { name: string; type: string; format?: string; description: string; priority: number };

const col = (name: string, priority = 0, type = 'string', format?: string): Column =>
  ({ name, type, ...(format ? { format } : {}), description: name, priority });

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function podStatusText(p: KubeObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const waiting = (p.status?.containerStatuses ?? []).find((c: any) => c.state?.waiting?.reason);
  if (waiting) return waiting.state.waiting.reason;
  const terminated = (p.status?.containerStatuses ?? []).find((c: any) => c.state?.terminated?.reason && p.status?.phase !== 'Running');
  if (terminated) return terminated.state.terminated.reason;
  return p.status?.phase ?? 'Pending';
}

function ports(svc: KubeObject): string {
  const list = (svc.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`);
  return list.length ? list.join(',') : '<none>';
}

function selectorText(sel: Record<string, string> | undefined): string {
  const e = Object.entries(sel ?? {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

interface Printer {
  columns: Column[];
  cells(o: KubeObject): unknown[];
}

const printers: Record<string, Printer> = {
  Pod: {
    columns: [col('Name'), col('Ready'), col('Status'), col('Restarts', 0, 'string'), col('Age'), col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
    cells: (p) => {
      const cs = p.status?.containerStatuses ?? [];
      const total = p.spec?.containers?.length ?? 0;
      const restarts = cs.reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0);
      return [p.metadata.name, `${cs.filter((c: any) => c.ready).length}/${total}`, podStatusText(p), String(restarts),
        age(p.metadata.creationTimestamp), p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>', '<none>', '<none>'];
    },
  },
  Node: {
    columns: [col('Name'), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 1), col('External-IP', 1), col('OS-Image', 1), col('Kernel-Version', 1), col('Container-Runtime', 1)],
    cells: (n) => {
      const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True';
      const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.split('/')[1]);
      const ip = (n.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [n.metadata.name, (ready ? 'Ready' : 'NotReady') + (n.spec?.unschedulable ? ',SchedulingDisabled' : ''), roles.length ? roles.join(',') : '<none>',
        age(n.metadata.creationTimestamp), info.kubeletVersion ?? '', ip, '<none>', info.osImage ?? '', info.kernelVersion ?? '', info.containerRuntimeVersion ?? ''];
    },
  },
  Service: {
    columns: [col('Name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 1)],
    cells: (s) => [s.metadata.name, s.spec?.type ?? 'ClusterIP', s.spec?.clusterIP ?? '<none>', s.spec?.externalName ?? '<none>', ports(s),
      age(s.metadata.creationTimestamp), selectorText(s.spec?.selector)],
  },
  Namespace: {
    columns: [col('Name'), col('Status'), col('Age')],
    cells: (n) => [n.metadata.name, n.status?.phase ?? 'Active', age(n.metadata.creationTimestamp)],
  },
  Deployment: {
    columns: [col('Name'), col('Ready'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), col('Age'), col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (d) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0,
      age(d.metadata.creationTimestamp), (d.spec?.template?.spec?.containers ?? []).map((c: any) => c.name).join(','),
      (d.spec?.template?.spec?.containers ?? []).map((c: any) => c.image).join(','), selectorText(d.spec?.selector?.matchLabels)],
  },
  ReplicaSet: {
    columns: [col('Name'), col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), col('Age'), col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (r) => [r.metadata.name, r.spec?.replicas ?? 1, r.status?.replicas ?? 0, r.status?.readyReplicas ?? 0, age(r.metadata.creationTimestamp),
      (r.spec?.template?.spec?.containers ?? []).map((c: any) => c.name).join(','), (r.spec?.template?.spec?.containers ?? []).map((c: any) => c.image).join(','),
      selectorText(r.spec?.selector?.matchLabels)],
  },
  DaemonSet: {
    columns: [col('Name'), col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), col('Node Selector'), col('Age'), col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (d) => [d.metadata.name, d.status?.desiredNumberScheduled ?? 0, d.status?.currentNumberScheduled ?? 0, d.status?.numberReady ?? 0,
      d.status?.updatedNumberScheduled ?? 0, d.status?.numberAvailable ?? 0, selectorText(d.spec?.template?.spec?.nodeSelector), age(d.metadata.creationTimestamp),
      (d.spec?.template?.spec?.containers ?? []).map((c: any) => c.name).join(','), (d.spec?.template?.spec?.containers ?? []).map((c: any) => c.image).join(','),
      selectorText(d.spec?.selector?.matchLabels)],
  },
  Job: {
    columns: [col('Name'), col('Status'), col('Completions'), col('Duration'), col('Age'), col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (j) => {
      const cond = (t: string) => (j.status?.conditions ?? []).some((c: any) => c.type === t && c.status === 'True');
      const status = cond('Failed') ? 'Failed' : cond('Complete') ? 'Complete' : j.metadata.deletionTimestamp ? 'Terminating' : j.spec?.suspend ? 'Suspended' : 'Running';
      const start = j.status?.startTime;
      const duration = start ? age(start, j.status?.completionTime ? Date.parse(j.status.completionTime) : Date.now()) : '';
      const containers = j.spec?.template?.spec?.containers ?? [];
      return [j.metadata.name, status, `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`, duration, age(j.metadata.creationTimestamp),
        containers.map((c: any) => c.name).join(','), containers.map((c: any) => c.image).join(','), selectorText(j.spec?.selector?.matchLabels)];
    },
  },
  EndpointSlice: {
    columns: [col('Name'), col('AddressType'), col('Ports'), col('Endpoints'), col('Age')],
    cells: (e) => {
      const p = (e.ports ?? []).map((x: any) => String(x.port));
      const addrs = (e.endpoints ?? []).flatMap((x: any) => x.addresses ?? []);
      return [e.metadata.name, e.addressType, p.length ? p.join(',') : '<unset>', addrs.length ? addrs.slice(0, 3).join(',') + (addrs.length > 3 ? ` + ${addrs.length - 3} more...` : '') : '<unset>', age(e.metadata.creationTimestamp)];
    },
  },
  ConfigMap: { columns: [col('Name'), col('Data', 0, 'integer'), col('Age')], cells: (c) => [c.metadata.name, Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, age(c.metadata.creationTimestamp)] },
  Secret: { columns: [col('Name'), col('Type'), col('Data', 0, 'integer'), col('Age')], cells: (s) => [s.metadata.name, s.type ?? 'Opaque', Object.keys(s.data ?? {}).length, age(s.metadata.creationTimestamp)] },
  ServiceAccount: { columns: [col('Name'), col('Secrets', 0, 'integer'), col('Age')], cells: (s) => [s.metadata.name, (s.secrets ?? []).length, age(s.metadata.creationTimestamp)] },
  Event: {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
    cells: (e) => [age(e.lastTimestamp ?? e.metadata.creationTimestamp), e.type, e.reason, `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name}`, e.message],
  },
  RoleBinding: { columns: [col('Name'), col('Role'), col('Age')], cells: (b) => [b.metadata.name, `${b.roleRef?.kind}/${b.roleRef?.name}`, age(b.metadata.creationTimestamp)] },
  ClusterRoleBinding: { columns: [col('Name'), col('Role'), col('Age')], cells: (b) => [b.metadata.name, `${b.roleRef?.kind}/${b.roleRef?.name}`, age(b.metadata.creationTimestamp)] },
};

const defaultPrinter: Printer = {
  columns: [{ ...col('Name'), format: 'name' }, col('Created At', 0, 'date')],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};

function partial(o: KubeObject): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(r: ResourceType, items: KubeObject[], listMeta: Record<string, unknown>, includeObject: string | null): unknown {
  const printer = printers[r.kind] ?? defaultPrinter;
  const columns = printer.columns.map((c, i) => (i === 0 ? { ...c, format: 'name', description: 'Name must be unique within a namespace.' } : c));
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: columns,
    rows: items.map((o) => ({
      cells: printer.cells(o),
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? o : partial(o) }),
    })),
  };
}

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept.split(',')[0] ?? '');
}
