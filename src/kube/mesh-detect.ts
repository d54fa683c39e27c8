// Which target pods run a service-mesh sidecar, the pods a tapper enters to capture the
// plaintext between the app and its proxy (docs/mesh.md). Detection reads what the meshes
// themselves put on a pod: Istio's and Linkerd's proxy containers (a container, or a native
// sidecar: an init container with restartPolicy Always), else their injectors' annotations
// and labels. Nothing is guessed from images: a renamed image still runs the known container.
import { UsageError } from '../errors.js';

/** --mesh: auto enters pods with a detected sidecar, on every target pod, off none. */
export type MeshMode = 'auto' | 'on' | 'off';
export const MESH_MODES: readonly MeshMode[] = ['auto', 'on', 'off'];

/** The sidecar's kind as the tappers are told it (docs/tapper-api.md); "other" only under --mesh on. */
export type SidecarKind = 'istio' | 'linkerd' | 'other';

interface MeshPod {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: {
    hostNetwork?: boolean;
    containers?: { name: string }[];
    initContainers?: { name: string; restartPolicy?: string }[];
  };
}

const PROXY_CONTAINERS: Record<string, SidecarKind> = { 'istio-proxy': 'istio', 'linkerd-proxy': 'linkerd' };
/** Set by the injectors on every pod they inject (Istio's status, Linkerd's proxy version). */
const INJECTED_ANNOTATIONS: Record<string, SidecarKind> = { 'sidecar.istio.io/status': 'istio', 'linkerd.io/proxy-version': 'linkerd' };

export function parseMeshMode(text: string): MeshMode {
  if ((MESH_MODES as readonly string[]).includes(text)) return text as MeshMode;
  throw new UsageError(`--mesh must be one of ${MESH_MODES.join(', ')}, not "${text}"`);
}

/** The pod's sidecar kind, or null: no sidecar (or a hostNetwork pod, whose loopback is the node's). */
export function detectSidecar(pod: MeshPod): SidecarKind | null {
  if (pod.spec?.hostNetwork === true) return null;
  for (const c of pod.spec?.containers ?? []) if (PROXY_CONTAINERS[c.name]) return PROXY_CONTAINERS[c.name]!;
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy === 'Always' && PROXY_CONTAINERS[c.name]) return PROXY_CONTAINERS[c.name]!;
  }
  const annotations = pod.metadata.annotations ?? {};
  for (const [key, kind] of Object.entries(INJECTED_ANNOTATIONS)) if (annotations[key] !== undefined) return kind;
  return null;
}

/** What a tapper is told about a target pod's sidecar under the session's --mesh. */
export function sidecarFor(pod: MeshPod, mode: MeshMode): SidecarKind | null {
  if (mode === 'off' || pod.spec?.hostNetwork === true) return null;
  return detectSidecar(pod) ?? (mode === 'on' ? 'other' : null);
}
