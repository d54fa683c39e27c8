// The stack's objects, rendered from the YAML templates in manifests/ (what `kubectl tap
// manifests` prints and what a session creates are the same objects). A template names its
// values as {{key}}; each is written as a JSON scalar or list, which YAML reads back exactly,
// so no value can break the document. What is a structure rather than a value (node
// selector, extra tolerations, pull secrets) is set on the parsed objects.
import { readFileSync } from 'node:fs';
// js-yaml itself, not client-node's loadAllYaml: that one turns objects into its model classes.
import yaml from 'js-yaml';
import pkg from '../../package.json' with { type: 'json' };
import { UsageError } from '../errors.js';
import { LABELS, TAPPER_PORT } from './labels.js';
import type { MeshMode } from './mesh-detect.js';

/** In the bundled CLI the templates are inlined by scripts/build.mjs; from source they are read. */
declare const __TAP_MANIFESTS__: Record<string, string> | undefined;

/** In creation order: the reaper's Job comes before the tappers, which it owns. */
export const MANIFEST_FILES = ['namespace.yaml', 'reaper.yaml', 'tapper-serviceaccount.yaml', 'session-secret.yaml', 'tapper-daemonset.yaml'] as const;

function templates(): Record<string, string> {
  if (typeof __TAP_MANIFESTS__ !== 'undefined') return __TAP_MANIFESTS__;
  return Object.fromEntries(MANIFEST_FILES.map((f) => [f, readFileSync(new URL(`../../manifests/${f}`, import.meta.url), 'utf8')]));
}

/** This CLI's version, which its tappers must report (src/kube/tapper-version.ts). */
export const CLI_VERSION: string = pkg.version;
export const DEFAULT_TAPPER_IMAGE = `kubectl-tap/tapper:${CLI_VERSION}`;

export interface StackOptions {
  namespace: string;
  image: string;
  token: string;
  /** Container memory request and limit, bytes. */
  memoryBytes: number;
  /** CPU limit in Kubernetes quantity form ("500m", "1"). */
  cpu: string;
  nodeSelector: Record<string, string>;
  tolerations: Record<string, unknown>[];
  imagePullSecrets: string[];
  priorityClass?: string;
  /** Mesh capture (docs/mesh.md): unless off, the tappers may enter pod network namespaces (SYS_ADMIN, SYS_PTRACE). */
  mesh: MeshMode;
  /** Body bytes kept per entry, and whether credentials are redacted (the tappers' engine does both). */
  maxBody: number;
  maxMessages: number;
  redact: boolean;
  /** Headers the tappers redact besides the default ones (--redact-header). */
  redactHeaders: string[];
  /** Entries per second each tapper sends a session at most, the rest dropped and counted there (0: no cap). */
  maxRate: number;
  /** --proto's types as one JSON descriptor (bundleProtos), shipped in the session Secret; null: none. */
  protoBundle: string | null;
  /** A pre-installed stack (kubectl tap manifests): no reaper, never removed by a session. */
  preinstalled: boolean;
  /** Seconds without a heartbeat after which the reaper removes the stack; 0: no reaper. */
  orphanSeconds: number;
  sessionId?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: any;
}

/** The engine's budget is most of the container limit; the rest is Node itself and capture buffers. */
export function memoryBudgetFor(limitBytes: number): string {
  return `${Math.floor((limitBytes * 0.7) / 1024 / 1024)}MiB`;
}

/**
 * The reaper acts 15 s before the bound: it polls every 5 s, and the Job's deadline (the
 * bound, counted from the last heartbeat) must not stop it first. Heartbeats come every 10 s,
 * so the bound's floor (MIN_ORPHAN_SECONDS) keeps three of them inside the reaper's patience.
 */
export const MIN_ORPHAN_SECONDS = 45;

export function reaperStaleSeconds(orphanSeconds: number): number {
  return orphanSeconds - 15;
}

export function renderStack(o: StackOptions): KubeObject[] {
  if (o.orphanSeconds !== 0 && o.orphanSeconds < MIN_ORPHAN_SECONDS) {
    throw new UsageError(`--orphan-timeout must be 0 (no self-removal) or at least ${MIN_ORPHAN_SECONDS}s`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace) || o.namespace.length > 63) {
    throw new UsageError(`--tap-namespace "${o.namespace}" is not a valid namespace name`);
  }
  const values: Record<string, unknown> = {
    namespace: o.namespace,
    reaperName: `kubectl-tap-reaper-${o.namespace}`,
    image: o.image,
    token: o.token,
    port: TAPPER_PORT,
    memory: `${Math.ceil(o.memoryBytes / 1024 / 1024)}Mi`,
    memoryBudget: memoryBudgetFor(o.memoryBytes),
    cpu: o.cpu,
    cpuRequest: '50m',
    capabilities: o.mesh !== 'off' ? ['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'] : ['NET_RAW', 'NET_ADMIN'],
    // The Job's deadline (renewed by every heartbeat) is the bound; the reaper acts before it.
    deadlineSeconds: o.orphanSeconds,
    staleAfter: String(reaperStaleSeconds(o.orphanSeconds)),
  };
  const files = templates();
  const objects: KubeObject[] = [];
  for (const file of MANIFEST_FILES) {
    if ((o.preinstalled || o.orphanSeconds === 0) && file === 'reaper.yaml') continue;
    const text = files[file]!.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
      if (!(key in values)) throw new Error(`manifests/${file}: unknown value {{${key}}}`);
      return JSON.stringify(values[key]);
    });
    objects.push(...(yaml.loadAll(text) as KubeObject[]).filter(Boolean));
  }
  for (const obj of objects) decorate(obj, o);
  return objects;
}

/** Where the DaemonSet mounts the session Secret (manifests/tapper-daemonset.yaml), and the key of the protos in it. */
const SESSION_MOUNT = '/var/run/kubectl-tap';
const PROTO_BUNDLE_KEY = 'protos.json';
/** A Secret holds at most 1 MiB; the token and metadata need little of it. */
const MAX_PROTO_BUNDLE_BYTES = 900 * 1024;

function decorate(obj: KubeObject, o: StackOptions): void {
  if (obj.kind === 'Secret' && o.protoBundle !== null) {
    if (Buffer.byteLength(o.protoBundle) > MAX_PROTO_BUNDLE_BYTES) {
      throw new UsageError(`--proto: the types come to ${Buffer.byteLength(o.protoBundle)} bytes, more than the ${MAX_PROTO_BUNDLE_BYTES} a session Secret carries; give only the .proto files of the services you tap`);
    }
    obj.stringData[PROTO_BUNDLE_KEY] = o.protoBundle;
  }
  const labels = (obj.metadata.labels ??= {});
  if (o.preinstalled) labels[LABELS.preinstalled] = 'true';
  if (o.sessionId) (obj.metadata.annotations ??= {})[LABELS.session] = o.sessionId;
  const pod = obj.kind === 'DaemonSet' || obj.kind === 'Job' ? obj.spec.template.spec : undefined;
  if (!pod) return;
  if (o.imagePullSecrets.length > 0) pod.imagePullSecrets = o.imagePullSecrets.map((name) => ({ name }));
  if (o.priorityClass) pod.priorityClassName = o.priorityClass;
  if (obj.kind === 'DaemonSet') {
    const args: string[] = pod.containers[0].args;
    args.push('--max-body', String(o.maxBody), '--max-messages', String(o.maxMessages));
    if (!o.redact) args.push('--no-redact');
    for (const header of o.redactHeaders) args.push('--redact-header', header);
    if (o.maxRate > 0) args.push('--max-rate', String(o.maxRate));
    if (o.protoBundle !== null) args.push('--proto', `${SESSION_MOUNT}/${PROTO_BUNDLE_KEY}`);
    if (Object.keys(o.nodeSelector).length > 0) pod.nodeSelector = { ...o.nodeSelector };
    pod.tolerations = [...pod.tolerations, ...o.tolerations];
  }
}

/** The stack as one YAML stream, for `kubectl tap manifests` and `--dry-run`. */
export function stackYaml(objects: KubeObject[]): string {
  // No line folding, so long args stay on one line.
  return objects.map((obj) => `---\n${yaml.dump(obj, { lineWidth: -1, noRefs: true })}`).join('');
}

/** kubectl-style --toleration "key=value:Effect", "key:Effect", "key" or "Exists". */
export function parseToleration(text: string): Record<string, unknown> {
  const match = /^([^=:]+)(?:=([^:]*))?(?::(NoSchedule|PreferNoSchedule|NoExecute))?$/.exec(text);
  if (!match) throw new UsageError(`--toleration must look like key=value:NoSchedule, key:NoExecute or key, not "${text}"`);
  const [, key, value, effect] = match;
  return { key, operator: value === undefined ? 'Exists' : 'Equal', ...(value !== undefined ? { value } : {}), ...(effect ? { effect } : {}) };
}

/** --node-selector "a=b,c=d". */
export function parseNodeSelector(text: string | undefined): Record<string, string> {
  if (!text) return {};
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, value, extra] = part.split('=');
    if (!key || value === undefined || extra !== undefined) throw new UsageError(`--node-selector must be key=value[,key=value], not "${text}"`);
    out[key.trim()] = value.trim();
  }
  return out;
}
