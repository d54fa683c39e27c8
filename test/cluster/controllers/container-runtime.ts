// The container path of the simulated kubelet: the images this project builds (the tapper) run
// as real containers with podman, so a missing capability, a wrong path or a write to a
// read-only root fails here as it would on a user's node. Every other image keeps its local
// command (images.ts). The pod's spec becomes `podman run` flags the way a CRI runtime reads it:
//   hostNetwork / the pod's netns  -> --network ns:/run/netns/NAME (the netns the kubelet made)
//   hostPID                        -> --pid host
//   capabilities                   -> --cap-drop ALL, then containerd's default set minus `drop`
//                                     plus `add` (a spec dropping ALL gets exactly its `add`)
//   runAsUser/runAsGroup           -> --user; a non-root user gets no capabilities at all
//   readOnlyRootFilesystem         -> --read-only, without podman's extra tmpfs mounts
//   allowPrivilegeEscalation false -> no-new-privileges; seccompProfile as given (default Unconfined)
//   env (spec, Secrets, fieldRefs) -> -e NAME, values through podman's environment (never argv)
//   volumes                        -> -v SOURCE:TARGET[:ro] (the kubelet's volumes.ts made them)
//   resources.limits               -> --memory, --cpus (an OOM kill is reported as OOMKilled)
// stdout and stderr of the attached `podman run` are the pod's log and its exit status is the
// container's; the kubelet restarts it per the pod's policy like any process. Containers carry
// the cluster's prefix as a label, so teardown removes them after a crash too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../api/store.js';
import { repoRoot } from '../paths.js';
import type { Ctx } from './context.js';
import type { Mount } from './volumes.js';
import { parseQuantity } from './quantity.js';

/** Images built by this repository (`make image`) and run as containers when podman can. */
const CONTAINER_IMAGES: Record<string, { bundle: string; inImage: string }> = {
  'kubectl-tap/tapper': { bundle: join(repoRoot, 'dist', 'tapper.js'), inImage: 'app/tapper.js' },
};

export const CONTAINERS_CONF = join(repoRoot, 'tapper-image', 'containers.conf');
const VERSION: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
const CLUSTER_LABEL = 'io.kubectl-tap.cluster';

/** containerd's (and Docker's) default capability set, before the spec's drop and add. */
const RUNTIME_DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** Environment variables podman itself reads: passed as NAME=VALUE so they never steer podman. */
const PODMAN_READS = /^(PATH|HOME|TMPDIR|XDG_.*|CONTAINERS_.*|BUILDAH_.*|STORAGE_.*|CONTAINER_.*)$/;

export interface ContainerLaunch {
  /** the cluster's prefix (its netns prefix): labels the container for teardown */
  cluster: string;
  /** unique per pod and container within the machine */
  name: string;
  pod: KubeObject;
  container: any;
  netns: string;
  hostname: string;
  env: Record<string, string>;
  mounts: Mount[];
  /**
   * The container's directory on the host (in its pod's): podman runs from it. Its conmon
   * writes a file `oom` into its working directory when the OOM killer ends the container.
   */
  workDir: string;
}

export interface RunningContainer {
  proc: ChildProcess;
  id: string;
  /** signals the container's process (the kubelet's SIGTERM, then SIGKILL after the grace period) */
  kill(signal: NodeJS.Signals): void;
  /** after its exit: whether the kernel's OOM killer ended it (its memory limit) */
  oomKilled(): boolean;
  /** resolves once the container is gone from podman's storage */
  remove(): Promise<void>;
}

function podman(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', env: podmanEnv(), timeout: 30_000 });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() || (r.error?.message ?? '') };
}

function podmanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...extra, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CONTAINERS_CONF };
}

/**
 * The tag this checkout's `make image` gave the image a pod names (kubectl-tap/tapper:V becomes
 * kubectl-tap/tapper:V-checkout-HASH): several checkouts share the machine's podman storage,
 * and each must run the daemon it built. Any other tag is taken as it is.
 */
export function checkoutTag(image: string): string {
  const [repo, tag] = image.replace(/^localhost\//, '').split(/:(?=[^/]*$)/);
  if (!repo || !(repo in CONTAINER_IMAGES) || tag !== VERSION) return image;
  return `${repo}:${VERSION}-checkout-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`;
}

function repoOf(image: string): string {
  return image.replace(/@sha256:[0-9a-f]+$/, '').split(/:(?=[^/]*$)/)[0]!.replace(/^localhost\//, '');
}

/** Why the container path cannot be taken on this machine, or undefined when it can. */
export function containerPathUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const v = podman(['--version']);
  if (!v.ok) return 'podman is not installed (make image installs it as root)';
  return undefined;
}

export class ContainerRuntime {
  /** per image: the verdict of the image check, made once per dist/ bundle */
  private readonly checked = new Map<string, { stamp: string; problem?: string; user: string }>();

  private constructor(readonly unavailable: string | undefined) {}

  static detect(): ContainerRuntime {
    return new ContainerRuntime(containerPathUnavailable());
  }

  /** Whether this image is one of ours (container path wanted, even if it cannot be taken). */
  static isOurs(image: string): boolean {
    return repoOf(image) in CONTAINER_IMAGES;
  }

  /**
   * Undefined when the image can run as a container; otherwise why not (the kubelet then runs
   * the local command and says so loudly). An image older than the bundle in dist/ counts as
   * absent: a stale image would test yesterday's daemon.
   */
  problemWith(image: string): string | undefined {
    if (this.unavailable) return this.unavailable;
    return this.inspect(image).problem;
  }

  private inspect(image: string): { problem?: string; user: string } {
    const ours = CONTAINER_IMAGES[repoOf(image)]!;
    const stamp = existsSync(ours.bundle) ? `${statSync(ours.bundle).mtimeMs}:${statSync(ours.bundle).size}` : 'none';
    const cached = this.checked.get(image);
    if (cached?.stamp === stamp) return cached;
    const verdict = { stamp, user: '0', ...this.compare(image, ours) };
    this.checked.set(image, verdict);
    return verdict;
  }

  private compare(podImage: string, ours: { bundle: string; inImage: string }): { problem?: string; user?: string } {
    const image = checkoutTag(podImage);
    const info = podman(['image', 'inspect', '--format', '{{.Config.User}}', image]);
    if (!info.ok) return { problem: `image ${image} (this checkout's ${podImage}) is not in podman's storage (run \`make image\`)` };
    if (!existsSync(ours.bundle)) return { problem: `${ours.bundle} is missing (run \`make build\`)` };
    const mounted = podman(['image', 'mount', image]);
    if (!mounted.ok) return { problem: `podman image mount ${image}: ${mounted.err}` };
    try {
      const inImage = join(mounted.out, ours.inImage);
      if (!existsSync(inImage) || !readFileSync(inImage).equals(readFileSync(ours.bundle))) {
        return { problem: `image ${image} holds another ${ours.inImage} than ${ours.bundle} (run \`make image\`)` };
      }
    } finally {
      podman(['image', 'unmount', image]);
    }
    return { user: info.out.split(':')[0] || '0' };
  }

  /** Starts the container attached: its output and exit are the returned process's. */
  start(l: ContainerLaunch): RunningContainer | string {
    const planned = runArgs(l, this.inspect(l.container.image).user);
    if (typeof planned === 'string') return planned;
    const oomMark = join(l.workDir, 'oom');
    rmSync(oomMark, { force: true });
    const proc = spawn('podman', planned.argv, { cwd: l.workDir, env: podmanEnv(planned.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const podmanAsync = (args: string[]) => new Promise<void>((resolve) => {
      const p = spawn('podman', args, { env: podmanEnv(), stdio: 'ignore' });
      p.on('error', () => resolve());
      p.on('exit', () => resolve());
    });
    // Once it has exited: read whether the OOM killer ended it, then remove it (what --rm
    // would do, but --rm would lose that verdict and return before the container is gone).
    // podman 4.3 misses the OOM event on hybrid cgroups (State.OOMKilled stays false) while its
    // conmon leaves the file `oom` in its working directory; and a SIGKILL (137) that the
    // kubelet did not send, under a memory limit, counts as one too.
    const limited = l.container.resources?.limits?.memory !== undefined;
    let exited = false;
    let killedByUs = false;
    let oomKilled = false;
    let removed: Promise<void> | undefined;
    const remove = () => (removed ??= podmanAsync(['rm', '--force', '--ignore', '--time', '0', l.name]));
    proc.once('exit', (code) => {
      exited = true;
      const reported = podman(['inspect', '--format', '{{.State.OOMKilled}}', l.name]).out === 'true' || existsSync(oomMark);
      oomKilled = reported || (limited && code === 137 && !killedByUs);
      void remove();
    });
    return {
      proc,
      id: l.name,
      kill: (signal) => {
        if (exited) return;
        killedByUs ||= signal === 'SIGKILL';
        void podmanAsync(['kill', '--signal', signal, l.name]);
      },
      oomKilled: () => oomKilled,
      remove,
    };
  }
}

/** The `podman run` command line for a container, or why the spec cannot run (CreateContainerConfigError). */
export function runArgs(l: ContainerLaunch, imageUser = '0'): { argv: string[]; env: Record<string, string> } | string {
  const { pod, container } = l;
  const podSc = pod.spec.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const uid = sc.runAsUser ?? podSc.runAsUser;
  const gid = sc.runAsGroup ?? podSc.runAsGroup;
  const effectiveUid = String(uid ?? imageUser);
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) && effectiveUid === '0') {
    return uid === undefined ? 'container has runAsNonRoot and image will run as root' : 'container\'s runAsUser breaks non-root policy';
  }
  // no --rm: an OOM kill is read from the exited container (oomKilled) before remove() runs
  const argv = ['run', '--replace', '--pull', 'never', '--name', l.name, '--log-driver', 'none'];
  argv.push('--label', `${CLUSTER_LABEL}=${l.cluster}`);
  argv.push('--label', `io.kubernetes.pod.namespace=${pod.metadata.namespace}`, '--label', `io.kubernetes.pod.name=${pod.metadata.name}`);
  argv.push('--label', `io.kubernetes.pod.uid=${pod.metadata.uid}`, '--label', `io.kubernetes.container.name=${container.name}`);
  argv.push('--network', `ns:/run/netns/${l.netns}`, '--hostname', l.hostname);
  if (pod.spec.hostPID) argv.push('--pid', 'host');
  if (uid !== undefined || gid !== undefined) argv.push('--user', `${uid ?? imageUser}${gid !== undefined ? `:${gid}` : ''}`);
  for (const g of podSc.supplementalGroups ?? []) argv.push('--group-add', String(g));
  if (podSc.fsGroup !== undefined) argv.push('--group-add', String(podSc.fsGroup));

  if (sc.privileged) argv.push('--privileged');
  else {
    argv.push('--cap-drop', 'ALL');
    // A non-root process keeps none of its container's capabilities across exec (containerd and
    // CRI-O set no ambient set); podman would make added ones ambient, which no node does.
    if (effectiveUid === '0') for (const cap of capabilities(sc.capabilities)) argv.push('--cap-add', cap);
  }
  if (sc.readOnlyRootFilesystem) argv.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) argv.push('--security-opt', 'no-new-privileges');
  const seccomp = sc.seccompProfile ?? podSc.seccompProfile;
  if (!sc.privileged && seccomp?.type !== 'RuntimeDefault') argv.push('--security-opt', 'seccomp=unconfined');

  const limits = container.resources?.limits ?? {};
  if (limits.memory !== undefined) argv.push('--memory', String(Math.floor(parseQuantity(limits.memory))));
  if (limits.cpu !== undefined) argv.push('--cpus', String(parseQuantity(limits.cpu)));
  for (const m of l.mounts) argv.push('--volume', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);

  const env: Record<string, string> = {};
  const ownEnv = new Set((container.env ?? []).map((e: any) => e.name));
  for (const [k, v] of Object.entries(l.env)) {
    // the kubelet's process path sets PATH and HOME for the host; in a container the image's count
    if ((k === 'PATH' || k === 'HOME' || k === 'HOSTNAME') && !ownEnv.has(k)) continue;
    if (PODMAN_READS.test(k)) argv.push('--env', `${k}=${v}`);
    else {
      argv.push('--env', k);
      env[k] = v;
    }
  }
  if (container.workingDir) argv.push('--workdir', container.workingDir);
  if (container.command) argv.push('--entrypoint', JSON.stringify(container.command));
  argv.push(checkoutTag(container.image), ...(container.args ?? []));
  return { argv, env };
}

function capabilities(spec: { add?: string[]; drop?: string[] } | undefined): string[] {
  const norm = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  const drop = new Set((spec?.drop ?? []).map(norm));
  const kept = drop.has('ALL') ? [] : RUNTIME_DEFAULT_CAPS.filter((c) => !drop.has(c));
  return [...new Set([...kept, ...(spec?.add ?? []).map(norm)])];
}

/** Removes every container of a cluster (teardown; also after a crashed cluster daemon). */
export function removeClusterContainers(netnsPrefix: string): string[] {
  if (containerPathUnavailable()) return [];
  const ids = podman(['ps', '-a', '-q', '--filter', `label=${CLUSTER_LABEL}=${netnsPrefix}`]).out.split('\n').filter(Boolean);
  if (ids.length > 0) podman(['rm', '-f', '-t', '0', ...ids]);
  return ids;
}

/** The loud line for `up` when our images cannot run as containers here. */
export function containerPathNotice(): string | undefined {
  const why = containerPathUnavailable();
  return why ? `WARNING: ${why}: the tapper image runs as a local process (dist/tapper.js), so its capabilities, user, read-only root and volumes are not enforced\n` : undefined;
}

/** What the kubelet knows of a pod and a container when it starts one (its own records). */
export interface KubeletTarget {
  ctx: Ctx;
  cluster: string;
  node: string;
  pod: KubeObject;
  netns: string;
  hostNetwork: boolean;
  container: { spec: any; state: Record<string, any>; restartCount: number };
  mounts: Mount[];
  workDir: string;
}

/**
 * The kubelet's hook: runs one of our images as a container. Returns the container, 'process'
 * when the local command should run instead (not our image, or the container path cannot be
 * taken: said loudly, on the pod), or 'failed' with the container's state set to the reason.
 */
export function startPodContainer(runtime: ContainerRuntime, t: KubeletTarget, env: Record<string, string>): RunningContainer | 'process' | 'failed' {
  const { spec } = t.container;
  if (!ContainerRuntime.isOurs(spec.image)) return 'process';
  const problem = runtime.problemWith(spec.image);
  if (problem) {
    if (t.container.restartCount === 0) {
      process.stderr.write(`kubelet: ${t.pod.metadata.namespace}/${t.pod.metadata.name}: ${problem}: running its local command instead of the image\n`);
      t.ctx.event(t.pod, 'Warning', 'ContainerPathUnavailable', `${problem}; running ${spec.image} as a local process: capabilities, user, read-only root and volumes are not enforced`);
    }
    return 'process';
  }
  const fail = (reason: string, message: string) => {
    t.container.state = { waiting: { reason, message } };
    t.ctx.event(t.pod, 'Warning', 'Failed', `Error: ${message}`);
    return 'failed' as const;
  };
  // `ip netns exec` gives a pod's processes /etc/netns/NETNS/{resolv.conf,hosts}; a container
  // gets the same files mounted (podman would otherwise copy the host's)
  const etc = ['resolv.conf', 'hosts']
    .map((f) => ({ source: `/etc/netns/${t.netns}/${f}`, target: `/etc/${f}`, readOnly: true }))
    .filter((m) => existsSync(m.source) && !t.mounts.some((x) => x.target === m.target));
  const started = runtime.start({
    cluster: t.cluster, name: `${t.cluster}${t.pod.metadata.namespace}_${t.pod.metadata.name}_${spec.name}`,
    pod: t.pod, container: spec, netns: t.netns, hostname: t.hostNetwork ? t.node : t.pod.metadata.name, env, mounts: [...etc, ...t.mounts], workDir: t.workDir,
  });
  return typeof started === 'string' ? fail('CreateContainerConfigError', started) : started;
}
