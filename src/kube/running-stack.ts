// What `kubectl tap version` says about the cluster: each stack of ours running there (found by
// label, as `kubectl tap clean` finds them), the tapper image its DaemonSet runs, how many
// tappers are ready, and the version each ready tapper reports in /stats (asked with the
// stack's token when the user may read its Secret). Never an error: a cluster that cannot be
// asked is described, so that `version` always prints its local part.
import type { ConnectionFlags } from './kubeconfig.js';
import { loadConnection } from './kubeconfig.js';
import { KubeClient } from './client.js';
import { ApiError } from './errors.js';
import { TAPPER_SELECTOR } from './labels.js';
import type { KubeObject } from './manifests.js';
import { describeStack, findStacks } from './stack.js';
import { reportedVersion } from './tapper-version.js';

export interface RunningTapper {
  pod: string;
  node: string;
  /** What its /stats reports; null when it reports none, undefined when it could not be asked. */
  version?: string | null;
}

export interface RunningStack {
  namespace: string;
  preinstalled: boolean;
  /** The tapper image of its DaemonSet (undefined: no DaemonSet, or not readable). */
  image?: string;
  desired: number;
  ready: number;
  tappers: RunningTapper[];
  /** Why the tappers' versions are not known, if they are not. */
  versionsUnknown?: string;
}

export type ClusterReport =
  | { context: string; server: string; stacks: RunningStack[] }
  | { context?: string; server?: string; error: string };

const SECRET_NAME = 'kubectl-tap-session';
const DAEMONSET_NAME = 'kubectl-tap-tapper';

/** `timeoutMs` bounds each request when --request-timeout does not (version must not hang). */
export async function describeCluster(flags: ConnectionFlags, tapNamespace: string, timeoutMs: number): Promise<ClusterReport> {
  let conn;
  try {
    conn = loadConnection(flags);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const client = new KubeClient(conn.kc, conn.requestTimeoutMs || timeoutMs);
  const where = { context: conn.contextName, server: conn.server };
  try {
    return { ...where, stacks: await Promise.all((await stackNamespaces(client, tapNamespace)).map((ns) => describeRunning(client, ns))) };
  } catch (err) {
    if (err instanceof ApiError && err.code === 0) return { ...where, error: `unreachable: ${err.message}` };
    return { ...where, error: err instanceof ApiError ? `${err.message} (${err.code})` : (err as Error).message };
  }
  finally {
    client.close();
  }
}

/** Our stacks' namespaces; a user who may not list namespaces is asked about --tap-namespace only. */
async function stackNamespaces(client: KubeClient, tapNamespace: string): Promise<{ name: string; preinstalled: boolean }[]> {
  try {
    const { stacks } = await findStacks(client);
    return stacks.filter((s) => !s.terminating).map((s) => ({ name: s.namespace, preinstalled: s.preinstalled }));
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 403)) throw err;
    const ns = await client.getIfExists<KubeObject>(`/api/v1/namespaces/${tapNamespace}`);
    if (!ns || ns.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'kubectl-tap') return [];
    return [{ name: tapNamespace, preinstalled: describeStack(ns).preinstalled }];
  }
}

interface PodObject extends KubeObject {
  spec: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

async function describeRunning(client: KubeClient, ns: { name: string; preinstalled: boolean }): Promise<RunningStack> {
  const stack: RunningStack = { namespace: ns.name, preinstalled: ns.preinstalled, desired: 0, ready: 0, tappers: [] };
  const ds = await client.getIfExists<KubeObject>(`/apis/apps/v1/namespaces/${ns.name}/daemonsets/${DAEMONSET_NAME}`).catch(() => undefined);
  stack.image = ds?.spec?.template?.spec?.containers?.[0]?.image;
  stack.desired = ds?.status?.desiredNumberScheduled ?? 0;
  const pods = await client.get<{ items: PodObject[] }>(`/api/v1/namespaces/${ns.name}/pods`, { query: { labelSelector: TAPPER_SELECTOR } }).catch(() => ({ items: [] as PodObject[] }));
  const ready = pods.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  stack.ready = ready.length;
  stack.tappers = ready.map((p) => ({ pod: p.metadata.name, node: p.spec.nodeName ?? '' }));
  const token = await stackToken(client, ns.name);
  if (token === undefined) {
    stack.versionsUnknown = `cannot read secret ${SECRET_NAME} in ${ns.name}`;
    return stack;
  }
  await Promise.all(
    stack.tappers.map(async (t) => {
      t.version = await reportedVersion(client, ns.name, t.pod, token).then((v) => v ?? null, () => undefined);
    }),
  );
  return stack;
}

async function stackToken(client: KubeClient, namespace: string): Promise<string | undefined> {
  const secret = await client.getIfExists<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${SECRET_NAME}`).catch(() => undefined);
  return secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
}

/** The cluster's part of `kubectl tap version`, one line a stack. */
export function clusterLines(report: ClusterReport): string[] {
  const where = report.context ? `cluster ${report.context}${report.server ? ` (${report.server})` : ''}` : 'cluster';
  if ('error' in report) return [`${where}: not asked: ${report.error}`];
  if (report.stacks.length === 0) return [`${where}: no kubectl tap stack running`];
  return report.stacks.map((s) => {
    const kind = s.preinstalled ? 'pre-installed stack' : 'stack';
    const versions = [...new Set(s.tappers.map((t) => (t.version === undefined ? 'unknown' : t.version === null ? 'none reported' : t.version)))];
    const versionText = s.versionsUnknown ? `version unknown (${s.versionsUnknown})` : s.tappers.length === 0 ? 'no tapper ready to ask its version' : `version ${versions.join(', ')}`;
    return `${where}: ${kind} in namespace ${s.namespace}: tapper image ${s.image ?? 'unknown'}, ${s.ready}/${s.desired} tappers ready, ${versionText}`;
  });
}
