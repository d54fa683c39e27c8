// The session's heartbeat: the CLI writes the time on the tap namespace every few seconds.
// Another CLI reads it to tell a live stack (refuse) from a stale one (remove); the reaper
// watches it change to tell a living CLI from a killed one; and each beat moves the reaper
// Job's deadline on, so the deadline only passes when the beats stop.
import type { KubeClient } from './client.js';
import { LABELS } from './labels.js';
import { collectionPath } from './stack.js';

export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A heartbeat older than this marks a stack whose CLI is gone (allows for clock skew between machines). */
export const STALE_AFTER_MS = 60_000;

export interface HeartbeatOptions {
  namespace: string;
  /** The reaper Job, when there is one: its activeDeadlineSeconds follows the beats. */
  job?: { name: string; createdAt: number; orphanSeconds: number };
  onError?: (err: unknown) => void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: HeartbeatOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.beating = this.beat().catch((err) => {
        this.failures += 1;
        this.opts.onError?.(err);
      });
    }, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const now = new Date().toISOString();
    await this.client.mergePatch(`${collectionPath('Namespace')}/${this.opts.namespace}`, { metadata: { annotations: { [LABELS.heartbeat]: now } } });
    const job = this.opts.job;
    if (job) {
      const ageSeconds = Math.ceil((Date.now() - job.createdAt) / 1000);
      await this.client.mergePatch(`${collectionPath('Job', this.opts.namespace)}/${job.name}`, { spec: { activeDeadlineSeconds: ageSeconds + job.orphanSeconds } });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }
}
