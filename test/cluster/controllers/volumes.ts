// The kubelet's volume manager: turns a pod's `volumes` into folders on the node and a
// container's `volumeMounts` into bind mounts (source on the node -> mountPath in the
// container). Any container runtime uses the same list: the process runtime bind-mounts
// them in the container's own mount namespace (mountns.ts), a podman runtime passes them
// as `-v source:target[:ro]`.
//
// Volume folders live where a real kubelet keeps them, under the pod's folder:
// PODDIR/volumes/kubernetes.io~secret/NAME, ...~configmap, ...~projected, ...~empty-dir,
// ...~downward-api. Secret, ConfigMap, downward API and projected volumes are written the
// way the kubelet's atomic writer does (a timestamped folder, a `..data` symlink to it,
// and one symlink per top-level file), and are always mounted read-only, as since 1.10.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { KubeObject, Store } from '../api/store.js';
import { kinds } from './context.js';
import { fieldValue, resourceFieldValue, type PodRuntime } from './downward.js';

export interface Mount {
  /** a path on the node (the host) */
  source: string;
  /** the container's mountPath */
  target: string;
  readOnly: boolean;
}

export interface VolumeContext {
  store: Store;
  /** the pod's own folder on the node; volume folders are made under it */
  podDir: string;
  runtime: PodRuntime;
  /** node allocatable, for resourceFieldRef items without a limit */
  allocatable: Record<string, string>;
  /** A token for the pod's service account, bound to the pod (what the kubelet gets from TokenRequest). */
  serviceAccountToken(pod: KubeObject, audience: string | undefined, expirationSeconds: number): string;
}

/** A volume that cannot be set up; the message is the kubelet's FailedMount event text. */
export class VolumeError extends Error {}

type Payload = Map<string, { data: Buffer; mode: number }>;

const DEFAULT_MODE = 0o644;

/** The mounts for one container, setting up every volume it names (idempotent per pod). */
export async function materializeVolumes(pod: KubeObject, container: any, ctx: VolumeContext): Promise<Mount[]> {
  const volumes = new Map<string, any>((pod.spec?.volumes ?? []).map((v: any) => [v.name, v]));
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const volume = volumes.get(vm.name);
    if (!volume) throw new VolumeError(`Error: cannot find volume "${vm.name}" to mount into container "${container.name}"`);
    const { path, apiData } = setUp(pod, volume, ctx);
    let source = path;
    if (vm.subPath) {
      source = join(path, normalize(vm.subPath).replace(/^(\.\.(\/|$))+/, ''));
      if (!existsSync(source)) {
        if (apiData) throw new VolumeError(`Error: failed to prepare subPath for volumeMount "${vm.name}" of container "${container.name}"`);
        mkdirSync(source, { recursive: true });
      }
      source = realpathSync(source); // a subPath of an atomic-writer volume is the file itself
    }
    mounts.push({ source, target: vm.mountPath, readOnly: !!vm.readOnly || apiData });
  }
  return mounts;
}

function setUp(pod: KubeObject, v: any, ctx: VolumeContext): { path: string; apiData: boolean } {
  const dir = (plugin: string) => join(ctx.podDir, 'volumes', `kubernetes.io~${plugin}`, v.name);
  const fail = (why: string): never => {
    throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${why}`);
  };
  if (v.hostPath) {
    checkHostPath(v.hostPath.path, v.hostPath.type ?? '', fail);
    return { path: v.hostPath.path, apiData: false };
  }
  if (v.emptyDir) {
    mkdirSync(dir('empty-dir'), { recursive: true, mode: 0o777 });
    return { path: dir('empty-dir'), apiData: false };
  }
  const ns = pod.metadata.namespace as string;
  let payload: Payload;
  let path: string;
  if (v.secret) {
    path = dir('secret');
    payload = secretPayload(ctx.store, ns, v.secret, v.secret.defaultMode ?? DEFAULT_MODE, fail) ?? new Map();
  } else if (v.configMap) {
    path = dir('configmap');
    payload = configMapPayload(ctx.store, ns, v.configMap, v.configMap.defaultMode ?? DEFAULT_MODE, fail) ?? new Map();
  } else if (v.downwardAPI) {
    path = dir('downward-api');
    payload = downwardPayload(pod, container0(pod), v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? DEFAULT_MODE, ctx, fail);
  } else if (v.projected) {
    path = dir('projected');
    payload = new Map();
    const mode = v.projected.defaultMode ?? DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      let part: Payload | undefined;
      if (s.secret) part = secretPayload(ctx.store, ns, s.secret, mode, fail);
      else if (s.configMap) part = configMapPayload(ctx.store, ns, s.configMap, mode, fail);
      else if (s.downwardAPI) part = downwardPayload(pod, container0(pod), s.downwardAPI.items ?? [], mode, ctx, fail);
      else if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        let token = '';
        try {
          token = ctx.serviceAccountToken(pod, t.audience, Number(t.expirationSeconds ?? 3600));
        } catch (err) {
          fail(`failed to fetch token: ${(err as Error).message}`);
        }
        part = new Map([[t.path, { data: Buffer.from(token), mode }]]);
      }
      for (const [k, val] of part ?? []) payload.set(k, val);
    }
  } else {
    const type = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
    return fail(`volume type ${type} is not supported by the simulated cluster`);
  }
  writeAtomic(path, payload);
  return { path, apiData: true };
}

function container0(pod: KubeObject): any {
  return pod.spec?.containers?.[0];
}

/** The checks of hostPath `type`, with the kubelet's messages. */
function checkHostPath(path: string, type: string, fail: (why: string) => never): void {
  const st = existsSync(path) ? statSync(path) : undefined;
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'Directory':
      if (!st?.isDirectory()) fail(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'FileOrCreate':
      if (!st) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, '', { mode: 0o644 });
      } else if (!st.isFile()) fail(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'File':
      if (!st?.isFile()) fail(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Socket':
      if (!st?.isSocket()) fail(`hostPath type check failed: ${path} is not a socket file`);
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail(`hostPath type check failed: ${path} is not a character device`);
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail(`hostPath type check failed: ${path} is not a block device`);
      return;
    default:
      // "" (unset): no check, the mount fails later if the path is missing
      if (!st) fail(`hostPath type check failed: ${path} does not exist`);
  }
}

function keyed(data: Record<string, Buffer>, src: any, mode: number, missingKey: (key: string) => never): Payload {
  const out: Payload = new Map();
  if (!src.items?.length) {
    for (const [k, d] of Object.entries(data)) out.set(k, { data: d, mode });
    return out;
  }
  for (const item of src.items) {
    const d = data[item.key];
    if (d === undefined) {
      if (src.optional) continue;
      missingKey(item.key);
    }
    out.set(item.path, { data: d!, mode: item.mode ?? mode });
  }
  return out;
}

function secretPayload(store: Store, ns: string, src: any, mode: number, fail: (why: string) => never): Payload | undefined {
  const name = src.secretName ?? src.name;
  const secret = store.get(kinds.Secret, ns, name);
  if (!secret) {
    if (src.optional) return undefined;
    return fail(`secret "${name}" not found`);
  }
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64')]));
  return keyed(data, src, mode, (key) => fail(`references non-existent secret key: ${key}`));
}

function configMapPayload(store: Store, ns: string, src: any, mode: number, fail: (why: string) => never): Payload | undefined {
  const cm = store.get(kinds.ConfigMap, ns, src.name);
  if (!cm) {
    if (src.optional) return undefined;
    return fail(`configmap "${src.name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(String(v));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(String(v), 'base64');
  return keyed(data, src, mode, (key) => fail(`configmap references non-existent config key: ${key}`));
}

function downwardPayload(pod: KubeObject, container: any, items: any[], mode: number, ctx: VolumeContext, fail: (why: string) => never): Payload {
  const out: Payload = new Map();
  for (const item of items) {
    let value: string | undefined;
    if (item.fieldRef) {
      value = fieldValue(pod, item.fieldRef.fieldPath, ctx.runtime);
      if (value === undefined) fail(`unsupported fieldPath: ${item.fieldRef.fieldPath}`);
    } else if (item.resourceFieldRef) {
      const c = (pod.spec?.containers ?? []).find((x: any) => x.name === item.resourceFieldRef.containerName) ?? container;
      value = resourceFieldValue(c, item.resourceFieldRef, ctx.allocatable);
    }
    out.set(item.path, { data: Buffer.from(value ?? ''), mode: item.mode ?? mode });
  }
  return out;
}

/**
 * The kubelet's AtomicWriter: the payload goes into a fresh `..TIMESTAMP` folder, `..data`
 * is switched to it with one rename, and each top-level name is a symlink through `..data`,
 * so a reader never sees half an update. Unchanged payloads are left alone.
 */
function writeAtomic(dir: string, payload: Payload): void {
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, '..data');
  const current = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  if (current && samePayload(join(dir, current), payload)) return;
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace(/\.(\d+)Z$/, '.$1')}${process.hrtime.bigint() % 1_000_000n}`;
  const tsDir = join(dir, stamp);
  mkdirSync(tsDir);
  for (const [path, { data, mode }] of payload) {
    const file = join(tsDir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    chmodSync(file, mode);
  }
  const tmp = join(dir, '..data_tmp');
  rmSync(tmp, { force: true });
  symlinkSync(stamp, tmp);
  renameSync(tmp, dataLink);
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const name of top) {
    const link = join(dir, name);
    if (!existsSync(link) && !isLink(link)) symlinkSync(join('..data', name), link);
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== '..data' && entry !== stamp) rmSync(join(dir, entry), { recursive: true, force: true });
    } else if (!top.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function samePayload(dir: string, payload: Payload): boolean {
  for (const [path, { data, mode }] of payload) {
    const file = join(dir, path);
    if (!existsSync(file)) return false;
    if ((statSync(file).mode & 0o7777) !== mode || !readFileSync(file).equals(data)) return false;
  }
  const count = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(d, e.name)) : 1), 0);
  return count(dir) === payload.size;
}
