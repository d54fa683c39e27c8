// The API client of a pod: the service account's token and CA from the standard mount, the
// API server from KUBERNETES_SERVICE_HOST/PORT. Small on purpose: the reaper runs in the
// tapper image, which should not carry client-node. The token is re-read on every request
// (bound tokens are rotated by the kubelet).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { ApiError } from './errors.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface NamespaceApi {
  getIfExists<T>(path: string): Promise<T | undefined>;
  delete(path: string): Promise<boolean>;
}

export class InClusterClient implements NamespaceApi {
  private readonly agent: https.Agent;
  private readonly base: string;

  constructor(private readonly dir = SA_DIR, env: NodeJS.ProcessEnv = process.env) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
    this.base = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.agent = new https.Agent({ ca: readFileSync(`${dir}/ca.crt`), keepAlive: true });
  }

  async getIfExists<T>(path: string): Promise<T | undefined> {
    const { status, body } = await this.call('GET', path);
    if (status === 404) return undefined;
    if (status >= 400) throw ApiError.from('GET', path, status, body);
    return JSON.parse(body) as T;
  }

  async delete(path: string): Promise<boolean> {
    const { status, body } = await this.call('DELETE', path, JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }));
    if (status === 404) return false;
    if (status >= 400) throw ApiError.from('DELETE', path, status, body);
    return true;
  }

  private call(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    const token = readFileSync(`${this.dir}/token`, 'utf8').trim();
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.base}${path}`, { method, headers, agent: this.agent, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) => reject(new ApiError(method, path, 0, 'Unreachable', `${this.base}: ${err.message}`)));
      req.end(body);
    });
  }
}
