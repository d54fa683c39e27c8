// A list-then-watch cache of one resource, as client-go's informers: list, watch from the
// list's resourceVersion, keep the watch going (bookmarks keep the version fresh), relist on
// 410 Expired or a broken stream, and tell listeners what was added, changed or deleted.
// Built on KubeClient so that every call shares its credentials, agent and timeouts.
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';

export interface Meta {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[]; deletionTimestamp?: string; [k: string]: unknown };
}

export type InformerEvent = 'add' | 'update' | 'delete';

export class Informer<T extends Meta> {
  private readonly objects = new Map<string, T>();
  private readonly listeners: ((event: InformerEvent, obj: T, old?: T) => void)[] = [];
  private stopped = false;
  private current: IncomingMessage | undefined;
  private synced!: () => void;
  private failed!: (err: unknown) => void;
  /** Resolves after the first list; rejects if that list fails (no rights, no such resource). */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.synced = resolve;
    this.failed = reject;
  });

  constructor(
    private readonly client: KubeClient,
    /** Collection path, e.g. /api/v1/pods or /api/v1/namespaces/shop/pods. */
    private readonly path: string,
    private readonly query: Record<string, string> = {},
  ) {}

  on(listener: (event: InformerEvent, obj: T, old?: T) => void): this {
    this.listeners.push(listener);
    return this;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(key(namespace, name));
  }

  start(): this {
    void this.run();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  private async run(): Promise<void> {
    let first = true;
    let backoffMs = 250;
    while (!this.stopped) {
      try {
        const version = await this.relist();
        if (first) this.synced();
        first = false;
        backoffMs = 250;
        await this.watch(version);
      } catch (err) {
        if (first) {
          this.failed(err);
          return;
        }
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  private async relist(): Promise<string> {
    const list = await this.client.get<{ items: T[]; metadata: { resourceVersion: string } }>(this.path, { query: this.query });
    const seen = new Set<string>();
    for (const obj of list.items) {
      const k = key(obj.metadata.namespace, obj.metadata.name);
      seen.add(k);
      this.apply('ADDED', obj);
    }
    for (const [k, obj] of this.objects) if (!seen.has(k)) this.apply('DELETED', obj);
    return list.metadata.resourceVersion;
  }

  /** Watches until the stream ends; returns to relist, or throws on 410 (relisted by run). */
  private async watch(fromVersion: string): Promise<void> {
    let version = fromVersion;
    for (;;) {
      if (this.stopped) return;
      const res = await this.client.stream(this.path, {
        query: { ...this.query, watch: 'true', resourceVersion: version, allowWatchBookmarks: 'true', timeoutSeconds: 300 },
      });
      this.current = res;
      let expired = false;
      await readLines(res, (line) => {
        const event = parseJson(line) as { type: string; object: T & { code?: number } } | undefined;
        if (!event?.object) return;
        if (event.type === 'ERROR') {
          expired = event.object.code === 410;
          res.destroy();
          return;
        }
        version = event.object.metadata?.resourceVersion ?? version;
        if (event.type !== 'BOOKMARK') this.apply(event.type, event.object);
      });
      if (expired) throw new ApiError('GET', this.path, 410, 'Expired', 'watch expired');
    }
  }

  private apply(type: string, obj: T): void {
    const k = key(obj.metadata.namespace, obj.metadata.name);
    const old = this.objects.get(k);
    if (type === 'DELETED') {
      if (!old) return;
      this.objects.delete(k);
      for (const l of this.listeners) l('delete', old);
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.objects.set(k, obj);
    for (const l of this.listeners) l(old ? 'update' : 'add', obj, old);
  }
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function key(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Calls onLine for each complete line of an NDJSON response; resolves when it ends. */
export function readLines(res: IncomingMessage, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) onLine(line);
      }
    });
    res.on('end', resolve);
    res.on('close', resolve);
    res.on('error', () => resolve());
  });
}
