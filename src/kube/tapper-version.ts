// Each tapper must be the version of this CLI: the stream's entries, the targets body and the
// /stats figures are one contract (docs/tapper-api.md), changed together on both sides. A
// tapper reports its version in /stats; one that reports another (an older image left in a
// registry, a --tapper-image override, a pre-installed stack from an earlier release) or none
// (a tapper from before versions were reported) is refused before anything is streamed.
import type { KubeClient } from './client.js';
import { StackError } from './errors.js';
import { TAPPER_PORT } from './labels.js';
import type { ReadyTapper } from './tapper-watch.js';

/** A tapper of another version: the session ends with this line (exit 1). */
export class TapperVersionError extends StackError {
  override name = 'TapperVersionError';
}

export interface VersionCheckOptions {
  namespace: string;
  token: string;
  /** The version this CLI expects: its own. */
  expected: string;
  /** What the user can do about it, said after the mismatch. */
  remedy: string;
}

export class TapperVersions {
  /** Tappers (by pod uid) already found to be the expected version. */
  private readonly checked = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: VersionCheckOptions,
  ) {}

  /**
   * Resolves when the tapper is the expected version; rejects with a TapperVersionError when
   * it is not, or with the request's own error when it could not be asked (the caller retries).
   */
  async check(tapper: ReadyTapper): Promise<void> {
    if (this.checked.has(tapper.uid)) return;
    const version = await reportedVersion(this.client, this.opts.namespace, tapper.pod, this.opts.token);
    if (version !== this.opts.expected) {
      const is = version === undefined ? 'reports no version (a tapper older than the version check)' : `is version ${version}`;
      throw new TapperVersionError(`tapper ${tapper.pod} on ${tapper.node} ${is}, this kubectl tap is ${this.opts.expected}: ${this.opts.remedy}`);
    }
    this.checked.add(tapper.uid);
  }
}

/** The version a tapper's /stats reports (undefined if it reports none). */
export async function reportedVersion(client: KubeClient, namespace: string, pod: string, token: string): Promise<string | undefined> {
  const stats = await client.json<{ version?: unknown }>('GET', `/api/v1/namespaces/${namespace}/pods/https:${pod}:${TAPPER_PORT}/proxy/stats`, {
    headers: { 'X-Tap-Token': token },
    timeoutMs: 10_000,
  });
  return typeof stats.version === 'string' ? stats.version : undefined;
}
