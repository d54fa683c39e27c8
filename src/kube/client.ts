// The one way this CLI talks to the API server: https.request with the kubeconfig's
// credentials (kc.applyToHTTPSOptions), one keep-alive agent for every call, JSON in and out,
// and a Kubernetes Status turned into an ApiError with its reason and message. Streams (watch,
// the tappers' entries through pods/proxy) are read as they arrive: client-node's generated
// connectGet...ProxyWithPath buffers whole bodies, which a stream that never ends cannot use.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import pkg from '../../package.json' with { type: 'json' };
import { ApiError } from './errors.js';

/** Named in the API server's audit log and metrics, so an admin sees which load is ours. */
const USER_AGENT = `kubectl-tap/${pkg.version}`;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Overrides the client's --request-timeout (0: none). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class KubeClient {
  private agent: https.Agent | undefined;

  constructor(
    readonly kc: KubeConfig,
    readonly requestTimeoutMs = 0,
  ) {}

  get server(): string {
    return this.kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  }

  async get<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('GET', path, opts);
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async getIfExists<T = any>(path: string, opts: RequestOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(path, opts);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async create<T = any>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('POST', path, { ...opts, body });
  }

  async mergePatch<T = any>(path: string, patch: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('PATCH', path, { ...opts, body: patch, contentType: 'application/merge-patch+json' });
  }

  /** DELETE; a 404 counts as done (the object is gone either way). */
  async delete(path: string, opts: RequestOptions = {}): Promise<boolean> {
    try {
      await this.json('DELETE', path, { ...opts, body: opts.body ?? { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      throw err;
    }
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await readAll(res);
    if (res.statusCode! >= 400) throw ApiError.from(method, path, res.statusCode!, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Starts a request and resolves with the response as soon as its headers arrive; the body
   * is the caller's to read (a stream). Non-2xx answers are raised as ApiError here.
   */
  async stream(path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.request('GET', path, { timeoutMs: 0, ...opts });
    if (res.statusCode! >= 400) throw ApiError.from('GET', path, res.statusCode!, await readAll(res));
    return res;
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json', 'User-Agent': USER_AGENT, ...opts.headers } };
    await this.kc.applyToHTTPSOptions(options);
    // applyToHTTPSOptions builds a new agent each time; keep the first one's TLS settings in
    // one keep-alive agent so calls reuse connections.
    this.agent ??= new https.Agent({ ...((options.agent as https.Agent | undefined)?.options ?? {}), keepAlive: true });
    options.agent = this.agent;
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (body !== undefined) {
      const headers = options.headers as Record<string, string>;
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      // Without a length Node sends a chunked body, which some servers refuse on DELETE.
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(url, options, method, path, body, timeoutMs, opts.signal);
      } catch (err) {
        // A keep-alive socket the server closed meanwhile fails the request before any answer
        // (Node's documented race); sending it again on a fresh socket is safe for every verb.
        if (!(err instanceof StaleSocketError) || attempt >= 3) throw err instanceof StaleSocketError ? err.cause : err;
      }
    }
  }

  private once(url: URL, options: https.RequestOptions, method: string, path: string, body: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.request(url, options, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const failure = new ApiError(method, path, 0, 'Unreachable', `${this.server}: ${err.message}`);
        if (req.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up')) reject(new StaleSocketError(failure));
        else reject(failure);
      });
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      if (signal) {
        if (signal.aborted) req.destroy(new Error('aborted'));
        signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.end(body);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}

class StaleSocketError extends Error {
  constructor(override readonly cause: ApiError) {
    super(cause.message);
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
