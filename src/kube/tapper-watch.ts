// The tappers' health, from their pods' statuses, the DaemonSet's status and the events in
// the tap namespace: how many are ready (the wait's progress), which are ready to stream
// from, and the failures that end a session, each as one line: an image that cannot be
// pulled, a pod that cannot be scheduled, admission refusing the pods, a tapper OOM-killed
// or crash-looping.
import type { KubeClient } from './client.js';
import { Informer, type Meta } from './informer.js';
import { TAPPER_SELECTOR } from './labels.js';

interface TapperPod extends Meta {
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
      lastState?: { terminated?: { reason?: string; exitCode?: number } };
    }[];
  };
}

interface DaemonSetObject extends Meta {
  status?: { desiredNumberScheduled?: number; numberReady?: number };
}

interface EventObject extends Meta {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string;
  eventTime?: string;
}

export interface ReadyTapper {
  pod: string;
  node: string;
  uid: string;
}

const FATAL_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError', 'CrashLoopBackOff']);
const FATAL_EVENTS = new Set(['FailedScheduling', 'FailedCreate']);

export class TapperWatch {
  private readonly pods: Informer<TapperPod>;
  private readonly daemonSets: Informer<DaemonSetObject>;
  private readonly events: Informer<EventObject>;
  private readonly seenEvents = new Set<string>();
  private readonly startedAt = Date.now();
  private fatalListener: ((line: string) => void) | undefined;
  private changeListener: (() => void) | undefined;

  constructor(
    client: KubeClient,
    private readonly namespace: string,
    private readonly daemonSetName: string,
  ) {
    this.pods = new Informer<TapperPod>(client, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: TAPPER_SELECTOR });
    this.daemonSets = new Informer<DaemonSetObject>(client, `/apis/apps/v1/namespaces/${namespace}/daemonsets`);
    this.events = new Informer<EventObject>(client, `/api/v1/namespaces/${namespace}/events`);
    this.pods.on((event, pod) => {
      if (event !== 'delete') this.checkPod(pod);
      this.changeListener?.();
    });
    this.daemonSets.on(() => this.changeListener?.());
    this.events.on((event, ev) => {
      if (event === 'add') this.checkEvent(ev);
    });
  }

  /** A failure that ends the session: one line, already phrased for the user. */
  onFatal(listener: (line: string) => void): void {
    this.fatalListener = listener;
  }

  onChange(listener: () => void): void {
    this.changeListener = listener;
  }

  async start(): Promise<void> {
    await Promise.all([this.pods.start().ready, this.daemonSets.start().ready, this.events.start().ready]);
  }

  stop(): void {
    this.pods.stop();
    this.daemonSets.stop();
    this.events.stop();
  }

  /** Tappers wanted (the DaemonSet's desired count; until it says, the pods seen). */
  desired(): number | undefined {
    return this.daemonSets.get(this.namespace, this.daemonSetName)?.status?.desiredNumberScheduled;
  }

  ready(): ReadyTapper[] {
    return this.pods
      .list()
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => ({ pod: p.metadata.name, node: p.spec.nodeName ?? '', uid: p.metadata.uid }));
  }

  private checkPod(pod: TapperPod): void {
    for (const c of pod.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      const where = `tapper ${pod.metadata.name} on ${pod.spec.nodeName ?? 'no node'}`;
      if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
        this.fatal(`${where}: ${waiting.reason}${waiting.message ? `: ${waiting.message.split('\n')[0]}` : ''}`);
        return;
      }
      const term = c.state?.terminated ?? c.lastState?.terminated;
      if (term?.reason === 'OOMKilled') {
        this.fatal(`${where} was OOM-killed (raise --tapper-memory)`);
        return;
      }
    }
  }

  private checkEvent(ev: EventObject): void {
    if (!ev.reason || !FATAL_EVENTS.has(ev.reason) || this.seenEvents.has(ev.metadata.uid)) return;
    // Events from before this session (a namespace reused) are history, not news.
    const at = Date.parse(ev.lastTimestamp ?? ev.eventTime ?? '');
    if (!Number.isNaN(at) && at < this.startedAt - 5000) return;
    this.seenEvents.add(ev.metadata.uid);
    const what = `${ev.involvedObject?.kind?.toLowerCase() ?? 'object'} ${ev.involvedObject?.name ?? ''}`.trim();
    this.fatal(`${ev.reason} for ${what}: ${(ev.message ?? '').split('\n')[0]}`);
  }

  private fatal(line: string): void {
    this.fatalListener?.(line);
  }
}
