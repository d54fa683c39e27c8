// Mesh capture on the node (docs/mesh.md): for each target pod of this node the CLI marked as
// having a sidecar, find its network namespace through the host's /proc, open a capture of
// its loopback inside it (the addon enters the namespace on this thread and comes back,
// native/capture.c), and close it when the pod stops being a target. Pods without a sidecar
// are never entered. When entering is not allowed (no SYS_ADMIN for setns, no SYS_PTRACE to
// read another process's namespace), one line says so and node capture goes on alone.
import { readlinkSync } from 'node:fs';
import { openLiveCapture, type LiveCapture } from '../src/capture/live.js';
import type { MeshPod } from '../src/node/mesh-join.js';
import { NetnsFinder, type PodNetns } from '../src/node/netns-finder.js';
import type { NodePipeline } from '../src/node/pipeline.js';
import type { TargetRegistry } from '../src/node/targets.js';

/** A pod's loopback carries one app's calls: a quarter of the node handle's ring is plenty. */
const POD_RING_BYTES = 4 * 1024 * 1024;
/** Pods entered at most per node (each holds a kernel ring). */
const MAX_ENTERED = 64;
/** A pod not found yet (starting, or its processes not up) is looked for again this often. */
const RESCAN_MS = 2000;
const FLUSH_MS = 100;

interface Entered {
  pod: MeshPod;
  uid: string;
  netns: PodNetns;
  capture: LiveCapture;
  since: string;
}

export class MeshSource {
  private readonly finder: NetnsFinder;
  private readonly entered = new Map<string, Entered>();
  private wanted = new Map<string, MeshPod & { uid: string }>();
  /** Why mesh capture cannot run on this node (said once), or null. */
  private unavailable: string | null = null;
  private readonly failures = new Map<string, string>();
  private readonly ownInode: string | null;
  private scans = 0;
  private rescan: NodeJS.Timeout | null = null;
  private readonly flusher: NodeJS.Timeout;

  constructor(
    hostProc: string,
    private readonly captureWaitMs: number,
    private readonly pipeline: NodePipeline,
    private readonly targets: TargetRegistry,
    private readonly log: (line: string) => void,
  ) {
    this.finder = new NetnsFinder(hostProc);
    this.ownInode = readOwnInode();
    targets.onChange(() => this.follow());
    this.flusher = setInterval(() => pipeline.flushMesh(), FLUSH_MS);
  }

  /** The meshed target pods of this node, across sessions: enter the new ones, leave the gone ones. */
  follow(): void {
    const wanted = new Map<string, MeshPod & { uid: string }>();
    for (const id of this.targets.sessionIds) {
      for (const p of this.targets.session(id)!.targets.pods) {
        if (p.node !== this.targets.nodeName || p.sidecar === null || p.hostNetwork) continue;
        wanted.set(p.ip, { ip: p.ip, uid: p.uid, namespace: p.namespace, name: p.name, sidecar: p.sidecar });
      }
    }
    this.wanted = wanted;
    for (const [ip, e] of this.entered) {
      const want = wanted.get(ip);
      if (want === undefined || want.uid !== e.uid) this.leave(ip); // gone, or another pod now has the IP
    }
    for (const ip of this.failures.keys()) if (!wanted.has(ip)) this.failures.delete(ip);
    this.enterMissing();
  }

  private enterMissing(): void {
    if (this.rescan !== null) {
      clearTimeout(this.rescan);
      this.rescan = null;
    }
    if (this.unavailable !== null) return;
    const missing = new Map([...this.wanted].filter(([ip]) => !this.entered.has(ip)).map(([ip, p]) => [ip, { uid: p.uid, name: p.name }]));
    if (missing.size === 0) return;
    this.scans += 1;
    const scan = this.finder.scan(missing, this.ownInode);
    // Without SYS_PTRACE the pods' processes (which hold more capabilities than the tapper)
    // are denied, and only those in the tapper's own namespace are readable.
    if (scan.found.size === 0 && scan.denied > 0 && scan.foreign === 0) {
      this.disable(`cannot read the pods' network namespaces in ${this.finder.hostProc} (permission denied: the tapper needs SYS_PTRACE)`);
      return;
    }
    for (const [ip, netns] of scan.found) {
      if (this.entered.size >= MAX_ENTERED) {
        this.failures.set(ip, `more than ${MAX_ENTERED} meshed pods on this node`);
        continue;
      }
      this.enter(this.wanted.get(ip)!, netns);
      if (this.unavailable !== null) return;
    }
    for (const ip of missing.keys()) if (!this.entered.has(ip) && !this.failures.has(ip)) this.failures.set(ip, 'network namespace not found yet');
    if ([...missing.keys()].some((ip) => !this.entered.has(ip))) {
      this.rescan = setTimeout(() => this.enterMissing(), RESCAN_MS);
      this.rescan.unref();
    }
  }

  private enter(pod: MeshPod & { uid: string }, netns: PodNetns): void {
    const ref: MeshPod = { ip: pod.ip, namespace: pod.namespace, name: pod.name, sidecar: pod.sidecar };
    try {
      const capture = openLiveCapture(
        { device: 'lo', filter: 'tcp', bufferSize: POD_RING_BYTES, timeoutMs: this.captureWaitMs, netns: netns.path },
        (frame) => this.pipeline.handleLoopbackFrame(ref, frame),
      );
      this.pipeline.mesh.enter(ref);
      this.entered.set(pod.ip, { pod: ref, uid: pod.uid, netns, capture, since: new Date().toISOString() });
      this.failures.delete(pod.ip);
      this.log(`mesh: capturing inside ${pod.namespace}/${pod.name} (${pod.sidecar} sidecar, ${netns.inode} via pid ${netns.pid})`);
    } catch (err) {
      const message = (err as Error).message;
      if (/Operation not permitted|Permission denied/.test(message)) {
        this.disable(`cannot enter pod network namespaces (${message}: the tapper needs SYS_ADMIN and SYS_PTRACE)`);
      } else {
        this.failures.set(pod.ip, message); // the process ended between the scan and the open: found again next scan
      }
    }
  }

  private disable(why: string): void {
    this.unavailable = why;
    this.log(`mesh capture unavailable: ${why}; capturing node traffic only (--mesh off leaves these capabilities out)`);
  }

  private leave(ip: string): void {
    const e = this.entered.get(ip);
    if (e === undefined) return;
    e.capture.close();
    this.pipeline.mesh.leave(ip);
    this.entered.delete(ip);
    this.log(`mesh: stopped capturing inside ${e.pod.namespace}/${e.pod.name}`);
  }

  /** The ring bytes the entered pods' handles hold. */
  get kernelBufferBytes(): number {
    return this.entered.size * POD_RING_BYTES;
  }

  stats(): Record<string, unknown> {
    return {
      hostProc: this.finder.hostProc,
      unavailable: this.unavailable,
      scans: this.scans,
      entered: [...this.entered.values()].map((e) => {
        const s = e.capture.stats();
        return {
          namespace: e.pod.namespace, name: e.pod.name, ip: e.pod.ip, sidecar: e.pod.sidecar, netns: e.netns.inode, pid: e.netns.pid, since: e.since,
          received: s.received, droppedKernel: s.dropped, packets: s.delivered,
        };
      }),
      waiting: [...this.failures].map(([ip, reason]) => ({ ip, name: this.wanted.get(ip)?.name ?? '', reason })),
      held: this.pipeline.mesh.pendingCount,
      kernelBufferBytes: this.kernelBufferBytes,
    };
  }

  stop(): void {
    clearInterval(this.flusher);
    if (this.rescan !== null) clearTimeout(this.rescan);
    for (const ip of [...this.entered.keys()]) this.leave(ip);
  }
}

function readOwnInode(): string | null {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return null;
  }
}
