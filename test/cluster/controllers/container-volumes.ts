// The volumes a container declares, made into host directories it can bind-mount: hostPath as
// is (the nodes share the host's filesystem), Secret and ConfigMap keys written as files (always
// read-only, as the kubelet mounts them), emptyDir as a fresh directory in the pod's folder.
// Used by the container path (container-runtime.ts); a stand-in until the cluster's own volume
// model (controllers/volumes.ts) lands, with the same Mount shape.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeObject } from '../api/store.js';
import { kinds, type Ctx } from './context.js';

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** The pod's volumes for one container, or the reason they cannot be made (a pod event). */
export function materializeVolumes(pod: KubeObject, container: any, podDir: string, ctx: Ctx): Mount[] | string {
  const volumes = new Map<string, any>((pod.spec.volumes ?? []).map((v: any) => [v.name, v]));
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const volume = volumes.get(vm.name);
    if (!volume) return `volume "${vm.name}" is not declared by the pod`;
    const made = sourceOf(pod, volume, join(podDir, 'volumes', vm.name), ctx);
    if ('error' in made) return made.error;
    const forcedReadOnly = !!(volume.secret || volume.configMap);
    mounts.push({ source: vm.subPath ? join(made.path, vm.subPath) : made.path, target: vm.mountPath, readOnly: forcedReadOnly || !!vm.readOnly });
  }
  return mounts;
}

type Made = { path: string } | { error: string };

/** The host path of a volume, made when it needs making. */
function sourceOf(pod: KubeObject, volume: any, dir: string, ctx: Ctx): Made {
  if (volume.hostPath) return { path: volume.hostPath.path };
  if (volume.emptyDir) return emptyDir(dir);
  const ref = volume.secret ?? volume.configMap;
  if (!ref) return { error: `volume "${volume.name}": only hostPath, emptyDir, secret and configMap volumes are emulated` };
  const isSecret = !!volume.secret;
  const name = isSecret ? ref.secretName : ref.name;
  const obj = ctx.store.get(isSecret ? kinds.Secret : kinds.ConfigMap, pod.metadata.namespace, name);
  if (!obj) return ref.optional ? emptyDir(dir) : { error: `${isSecret ? 'secret' : 'configmap'} "${name}" not found` };
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(obj.data ?? {})) data[k] = isSecret ? Buffer.from(String(v), 'base64') : Buffer.from(String(v));
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) data[k] = Buffer.from(String(v), 'base64');
  const items: { key: string; path: string; mode?: number }[] = ref.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  mkdirSync(dir, { recursive: true });
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (ref.optional) continue;
      return { error: `couldn't find key ${item.key} in ${isSecret ? 'Secret' : 'ConfigMap'} ${pod.metadata.namespace}/${name}` };
    }
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value);
    chmodSync(file, item.mode ?? ref.defaultMode ?? 0o644);
  }
  return { path: dir };
}

function emptyDir(dir: string): Made {
  mkdirSync(dir, { recursive: true });
  return { path: dir };
}
