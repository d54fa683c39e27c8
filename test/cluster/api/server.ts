// The API server stand-in: HTTPS, authentication (client certificates and bearer tokens),
// RBAC authorization, discovery, and the REST verbs on the resource table, with the
// subresources kubectl uses. Proxy and log streaming live in proxy.ts and logs.ts.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import net, { type AddressInfo } from 'node:net';
import yaml from 'js-yaml';
import { ApiError, errors } from './status.js';
import { Store, type KubeObject } from './store.js';
import { RESOURCES, findResource, groups, apiResourceList, groupVersion, type ResourceType } from './resources.js';
import { Authorizer, forbiddenMessage, type UserInfo, type Attributes } from './rbac.js';
import { matchFieldString, matchLabelString } from './selectors.js';
import { toTable, wantsTable } from './tables.js';
import { admit, checkNamespace } from './admission.js';
import { openapiDocument, openapiRoot } from './openapi.js';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';
import { TokenIssuer, admitServiceAccount } from './serviceaccounts.js';
import { appendFileSync, createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { admitPodSecurity, existingPodWarnings, labelErrors, podTemplateOf } from './podsecurity.js';
import { randomSuffix } from '../controllers/util.js';

export const KUBE_VERSION = { major: '1', minor: '30', gitVersion: 'v1.30.0-tap', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2024-04-17T00:00:00Z', goVersion: 'go1.22.2', compiler: 'gc', platform: 'linux/amd64' };

export interface ServerHooks {
  /** Graceful deletion: return true when the object stays (deletionTimestamp set) until a controller removes it. */
  onDelete(r: ResourceType, obj: KubeObject): boolean;
  proxy(req: IncomingMessage, res: ServerResponse | undefined, upgrade: { socket: Duplex; head: Buffer } | undefined, target: ProxyTarget): void;
  log(req: IncomingMessage, res: ServerResponse, pod: KubeObject, container: string, query: URLSearchParams): void;
}

export interface ProxyTarget {
  kind: 'pods' | 'services';
  namespace: string;
  nameSpec: string; // NAME, NAME:PORT, SCHEME:NAME:PORT
  path: string; // the rest, with leading '/', possibly ''
  search: string;
}

export interface ServerOptions {
  tls: { ca: string; cert: string; key: string };
  tokens: Record<string, UserInfo>;
  hooks: ServerHooks;
  /**
   * Where audit events are appended (JSON lines): one per request at stage RequestReceived
   * (as kube-apiserver's Metadata level: verb, user, user agent, objectRef; what bench/scale.ts
   * counts), and those with Pod Security audit annotations at stage ResponseComplete.
   */
  auditLog?: string;
}

interface Route {
  kind: 'resource';
  r: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  rest: string;
  watchPrefix: boolean;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
export { HOP_BY_HOP };

function parseRoute(path: string): Route | { kind: 'nonresource' } | undefined {
  const parts = path.split('/').filter((p, i) => i > 0 || p !== '');
  if (parts[0] === '') parts.shift();
  let group = '';
  let version: string;
  let i: number;
  if (parts[0] === 'api' && parts.length >= 2) {
    version = parts[1]!;
    i = 2;
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    i = 3;
  } else return { kind: 'nonresource' };
  if (parts.length === i) return { kind: 'nonresource' };
  let watchPrefix = false;
  if (parts[i] === 'watch') {
    watchPrefix = true;
    i++;
  }
  let namespace: string | undefined;
  if (parts[i] === 'namespaces' && parts.length > i + 2) {
    namespace = decodeURIComponent(parts[i + 1]!);
    i += 2;
  }
  const plural = parts[i];
  if (!plural) {
    if (namespace) return { kind: 'resource', r: findResource('', 'v1', 'namespaces')!, name: namespace, rest: '', watchPrefix };
    return undefined;
  }
  const namespacesRes = findResource('', 'v1', 'namespaces')!;
  let r = findResource(group, version, plural);
  if (!r && namespace && group === '' && ['status', 'finalize'].includes(plural)) {
    return { kind: 'resource', r: namespacesRes, name: namespace, subresource: plural, rest: '', watchPrefix };
  }
  if (!r) return undefined;
  const name = parts[i + 1] !== undefined ? decodeURIComponent(parts[i + 1]!) : undefined;
  const subresource = parts[i + 2];
  const rest = parts.length > i + 3 ? '/' + parts.slice(i + 3).join('/') : (path.endsWith('/') && subresource ? '/' : '');
  return { kind: 'resource', r, namespace: r.namespaced ? namespace : undefined, name, subresource, rest, watchPrefix };
}

/** Warnings travel as `Warning: 299 - "text"` headers, which kubectl prints as `Warning: text`. */
function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number | string[]> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 8 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new ApiError(413, 'RequestEntityTooLarge', 'request entity too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseObject(text: string, contentType: string): any {
  try {
    if (/yaml/.test(contentType)) return yaml.load(text);
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

function verbFor(method: string, route: Route, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : route.name ? 'get' : 'list';
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return route.name ? 'delete' : 'deletecollection';
    default: return method.toLowerCase();
  }
}

export class ApiServer {
  readonly store = new Store();
  readonly authorizer = new Authorizer(this.store);
  readonly tokenIssuer = new TokenIssuer(this.store);
  private server?: https.Server;
  private unixServer?: net.Server;
  private readonly watchers = new Set<ServerResponse>();
  private requestAudit?: WriteStream;

  constructor(private readonly opts: ServerOptions) {}

  async listen(host = '127.0.0.1', port = 0): Promise<number> {
    this.server = https.createServer({ ...this.opts.tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      this.handle(req, res).catch((err) => this.fail(res, err));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head).catch((err) => {
        const status = err instanceof ApiError ? err : errors.badRequest(String(err?.message ?? err));
        const body = JSON.stringify(status.toStatus());
        socket.end(`HTTP/1.1 ${status.code} ${status.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * The same HTTPS server on a Unix socket: the relay in the fabric namespace forwards the
   * `kubernetes` Service's endpoint (in-cluster clients) here, as the host has no route to pods.
   */
  async listenUnix(path: string): Promise<void> {
    rmSync(path, { force: true });
    this.unixServer = net.createServer((sock) => this.server!.emit('connection', sock));
    await new Promise<void>((resolve) => this.unixServer!.listen(path, resolve));
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.destroy();
    this.requestAudit?.end();
    this.server?.closeAllConnections();
    this.unixServer?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof ApiError) send(res, err.code, err.toStatus());
    else {
      console.error('apiserver internal error:', err);
      send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? err}`).toStatus());
    }
  }

  authenticate(req: IncomingMessage): UserInfo {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const token = auth.slice(7).trim();
      const user = this.opts.tokens[token] ?? this.tokenIssuer.authenticate(token);
      if (!user) throw errors.unauthorized();
      return { ...user, groups: [...user.groups, 'system:authenticated'] };
    }
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const cert = sock.getPeerCertificate();
      const cn = cert.subject?.CN;
      const o = cert.subject?.O;
      if (cn) return { name: String(cn), groups: [...(o ? (Array.isArray(o) ? o : [o]) : []), 'system:authenticated'] };
    }
    throw errors.unauthorized();
  }

  private authorize(user: UserInfo, a: Attributes): void {
    if (!this.authorizer.allowed(user, a)) {
      throw errors.forbidden(forbiddenMessage(user, a), a.path === undefined ? { name: a.name, group: a.apiGroup, kind: a.resource } : undefined);
    }
  }

  /** The request's audit event (level Metadata, stage RequestReceived), written without blocking. */
  private auditRequest(req: IncomingMessage, user: UserInfo, attrs: Attributes, path: string): void {
    if (!this.opts.auditLog) return;
    this.requestAudit ??= createWriteStream(this.opts.auditLog, { flags: 'a' }).on('error', () => {});
    this.requestAudit.write(JSON.stringify({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'RequestReceived', verb: attrs.verb, requestURI: path,
      user: { username: user.name, groups: user.groups }, userAgent: req.headers['user-agent'] ?? '',
      objectRef: { resource: attrs.resource, subresource: attrs.subresource, namespace: attrs.namespace, name: attrs.name, apiGroup: attrs.apiGroup },
      requestReceivedTimestamp: new Date().toISOString(),
    }) + '\n');
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const user = this.authenticate(req);
    delete req.headers.authorization;
    const url = new URL(req.url ?? '/', 'https://localhost');
    const route = parseRoute(url.pathname);
    if (!route || route.kind !== 'resource' || route.subresource !== 'proxy' || !route.name || !route.namespace || (route.r.plural !== 'pods' && route.r.plural !== 'services')) {
      throw errors.badRequest('upgrade is only supported on pods/proxy and services/proxy');
    }
    const resourceName = route.name.split(':').length === 3 ? route.name.split(':')[1]! : route.name.split(':')[0]!;
    this.authorize(user, { verb: verbFor(req.method ?? 'GET', route, false), namespace: route.namespace, apiGroup: '', resource: route.r.plural, subresource: 'proxy', name: resourceName });
    this.opts.hooks.proxy(req, undefined, { socket, head }, { kind: route.r.plural, namespace: route.namespace, nameSpec: route.name, path: route.rest, search: url.search });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = this.authenticate(req);
    delete req.headers.authorization; // as the real server: credentials do not travel further (proxy)
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname;
    const route = parseRoute(path);
    if (!route) {
      this.authorize(user, { verb: (req.method ?? 'GET').toLowerCase(), path });
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    if (route.kind === 'nonresource') {
      this.authorize(user, { verb: (req.method ?? 'get').toLowerCase(), path });
      return this.nonResource(path, res);
    }
    const q = url.searchParams;
    const watch = route.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = verbFor(req.method ?? 'GET', route, watch);
    const { r } = route;
    let resourceName = route.name;
    if (route.subresource === 'proxy' && resourceName) resourceName = resourceName.split(':').length === 3 ? resourceName.split(':')[1] : resourceName.split(':')[0];
    const attrs: Attributes = { verb, namespace: route.namespace ?? (r.kind === 'Namespace' ? route.name : undefined), apiGroup: r.group, resource: r.plural, subresource: route.subresource, name: resourceName };
    this.auditRequest(req, user, attrs, path);
    if (r.kind === 'Namespace' && verb === 'create') attrs.namespace = undefined;
    if (r.createOnly) return this.review(req, res, user, r);
    this.authorize(user, attrs);

    if (route.subresource === 'proxy') {
      if (!route.namespace || !route.name || (r.plural !== 'pods' && r.plural !== 'services')) throw errors.notFound(r.plural, r.group, route.name ?? '');
      this.opts.hooks.proxy(req, res, undefined, { kind: r.plural, namespace: route.namespace, nameSpec: route.name, path: route.rest, search: url.search });
      return;
    }
    if (route.subresource === 'log' && r.kind === 'Pod') {
      const pod = this.store.mustGet(r, route.namespace, route.name!);
      const container = q.get('container') ?? pod.spec?.containers?.[0]?.name;
      if (!pod.spec?.containers?.some((c: any) => c.name === container)) throw errors.badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
      this.opts.hooks.log(req, res, pod, container, q);
      return;
    }
    if (route.subresource && !(r.subresources ?? []).includes(route.subresource) && !(r.kind === 'Namespace' && route.subresource === 'finalize')) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    const dryRun = q.getAll('dryRun').includes('All');

    switch (verb) {
      case 'get': {
        const obj = this.store.mustGet(r, route.namespace, route.name!);
        if (route.subresource === 'scale') return send(res, 200, this.scaleOf(r, obj));
        if (wantsTable(req.headers.accept)) return send(res, 200, toTable(r, [obj], { resourceVersion: obj.metadata.resourceVersion }, q.get('includeObject')));
        return send(res, 200, obj);
      }
      case 'list': {
        const items = this.store.list(r, route.namespace).filter((o) => matchLabelString(o.metadata.labels, q.get('labelSelector') ?? undefined) && matchFieldString(o, q.get('fieldSelector') ?? undefined));
        const meta = { resourceVersion: String(this.store.resourceVersion) };
        if (wantsTable(req.headers.accept)) return send(res, 200, toTable(r, items, meta, q.get('includeObject')));
        return send(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: meta, items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) });
      }
      case 'watch':
        return this.watch(req, res, route, q);
      case 'create': {
        const body = parseObject(await readBody(req), req.headers['content-type'] ?? '');
        if (route.subresource === 'token') return send(res, 201, this.tokenRequest(route.namespace!, route.name!, body));
        const warnings: string[] = [];
        const created = this.create(r, route.namespace, body, dryRun, warnings, user);
        return send(res, 201, created, warnings);
      }
      case 'update': {
        const body = parseObject(await readBody(req), req.headers['content-type'] ?? '');
        if (route.subresource === 'scale') return send(res, 200, this.setScale(r, route.namespace, route.name!, body?.spec?.replicas));
        const warnings: string[] = [];
        const replaced = this.replace(r, route.namespace, route.name!, body, route.subresource, dryRun, warnings, user);
        return send(res, 200, replaced, warnings);
      }
      case 'patch':
        return this.patch(req, res, route, dryRun, user);
      case 'delete': {
        const text = await readBody(req);
        const opts = text ? parseObject(text, 'application/json') : {};
        const warnings = r.kind === 'Job' && !opts.propagationPolicy && opts.orphanDependents === undefined
          ? ['child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning'] : [];
        return send(res, 200, this.delete(r, route.namespace, route.name!, opts, dryRun), warnings);
      }
      case 'deletecollection': {
        const items = this.store.list(r, route.namespace).filter((o) => matchLabelString(o.metadata.labels, q.get('labelSelector') ?? undefined) && matchFieldString(o, q.get('fieldSelector') ?? undefined));
        for (const o of items) this.delete(r, o.metadata.namespace, o.metadata.name, {}, dryRun);
        return send(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: { resourceVersion: String(this.store.resourceVersion) }, items });
      }
      default:
        throw errors.methodNotAllowed();
    }
  }

  private nonResource(path: string, res: ServerResponse): void {
    const p = path.replace(/\/$/, '') || '/';
    if (p === '/version') return send(res, 200, KUBE_VERSION);
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (p === '/openapi/v3') return send(res, 200, openapiRoot());
    if (p.startsWith('/openapi/v3/')) {
      const rest = p.slice('/openapi/v3/'.length);
      const doc = openapiDocument(rest.startsWith('apis/') ? rest.slice(5) : rest.replace(/^api\//, ''));
      if (doc) return send(res, 200, doc);
    }
    if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }] });
    if (p === '/apis') {
      return send(res, 200, {
        kind: 'APIGroupList', apiVersion: 'v1',
        groups: groups().map((g) => ({ name: g.name, versions: [{ groupVersion: `${g.name}/${g.version}`, version: g.version }], preferredVersion: { groupVersion: `${g.name}/${g.version}`, version: g.version } })),
      });
    }
    if (p === '/api/v1') return send(res, 200, apiResourceList('', 'v1'));
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (m) {
      const g = groups().find((x) => x.name === m[1]);
      if (g && !m[2]) return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', name: g.name, versions: [{ groupVersion: `${g.name}/${g.version}`, version: g.version }], preferredVersion: { groupVersion: `${g.name}/${g.version}`, version: g.version } });
      if (g && m[2] === g.version) return send(res, 200, apiResourceList(g.name, g.version));
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  }

  private checkBody(r: ResourceType, ns: string | undefined, body: any): KubeObject {
    if (!body || typeof body !== 'object') throw errors.badRequest('Object \'Kind\' is missing in request body');
    if (body.kind && body.kind !== r.kind) throw errors.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${groupVersion(r)}) or kind ${body.kind} is not ${r.kind}`);
    body.kind = r.kind;
    body.apiVersion = groupVersion(r);
    body.metadata ??= {};
    if (r.namespaced) {
      if (body.metadata.namespace && ns && body.metadata.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      body.metadata.namespace = ns ?? body.metadata.namespace;
    }
    return body as KubeObject;
  }

  /** `warnings` collects admission warnings (sent as Warning headers); `user` is for the audit log. */
  create(r: ResourceType, ns: string | undefined, body: any, dryRun = false, warnings: string[] = [], user?: UserInfo): KubeObject {
    const obj = this.checkBody(r, ns, body);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation']) delete obj.metadata[k];
    const displayName = obj.metadata.name || obj.metadata.generateName || '';
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomSuffix();
    admit(this.store, r, obj);
    checkNamespace(this.store, r, obj.metadata.namespace, obj.metadata.name);
    if (r.kind === 'Pod') admitServiceAccount(this.store, obj);
    this.admitPodSecurity(r, obj, displayName, undefined, 'create', warnings, user);
    if (dryRun) {
      if (this.store.get(r, obj.metadata.namespace, obj.metadata.name)) throw errors.alreadyExists(r.plural, r.group, obj.metadata.name);
      return obj;
    }
    return this.store.create(r, obj);
  }

  replace(r: ResourceType, ns: string | undefined, name: string, body: any, subresource?: string, dryRun = false, warnings: string[] = [], user?: UserInfo): KubeObject {
    const obj = this.checkBody(r, ns, body);
    if (obj.metadata.name !== name) throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    const old = this.store.mustGet(r, ns, name);
    if (subresource !== 'status') {
      admit(this.store, r, obj, old);
      this.admitPodSecurity(r, obj, name, old, 'update', warnings, user);
    }
    if (dryRun) return obj;
    const updated = this.store.update(r, obj, subresource);
    this.finishDeletionIfReady(r, updated);
    return updated;
  }

  /**
   * The PodSecurity plugin: pods are enforced, workload templates warned about and audited,
   * namespace labels validated (and an enforce change checked against the pods already there).
   */
  private admitPodSecurity(r: ResourceType, obj: KubeObject, displayName: string, old: KubeObject | undefined, verb: string, warnings: string[], user?: UserInfo): void {
    if (r.kind === 'Namespace') {
      const causes = labelErrors(obj.metadata.labels);
      if (causes.length) throw errors.invalid('Namespace', '', obj.metadata.name, causes);
      if (old) warnings.push(...existingPodWarnings(obj.metadata.name, old.metadata.labels, obj.metadata.labels, this.store.list(findResource('', 'v1', 'pods')!, obj.metadata.name)));
      return;
    }
    const isPod = r.kind === 'Pod';
    if (isPod && old) return; // pod updates cannot change what Pod Security looks at
    const target = isPod ? { spec: obj.spec, meta: obj.metadata } : podTemplateOf(r.kind, obj);
    if (!target) return;
    if (old && JSON.stringify(podTemplateOf(r.kind, old)) === JSON.stringify(target)) return;
    const nsLabels = this.store.get(findResource('', 'v1', 'namespaces')!, undefined, obj.metadata.namespace)?.metadata.labels;
    const verdict = admitPodSecurity(nsLabels, r.plural, displayName, target.spec, target.meta, isPod);
    warnings.push(...verdict.warnings);
    if (verdict.audit && this.opts.auditLog) {
      const event = {
        kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', verb,
        user: user ? { username: user.name, groups: user.groups } : { username: 'system:kube-controller-manager' },
        objectRef: { resource: r.plural, namespace: obj.metadata.namespace, name: obj.metadata.name, apiGroup: r.group, apiVersion: r.version },
        annotations: { 'pod-security.kubernetes.io/audit-violations': verdict.audit },
        requestReceivedTimestamp: new Date().toISOString(),
      };
      appendFileSync(this.opts.auditLog, JSON.stringify(event) + '\n');
    }
  }

  private async patch(req: IncomingMessage, res: ServerResponse, route: Route, dryRun: boolean, user: UserInfo): Promise<void> {
    const { r } = route;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const text = await readBody(req);
    const patchBody = parseObject(text, type);
    let current = this.store.get(r, route.namespace, route.name!);
    if (route.subresource === 'scale') {
      const scale = current ? this.scaleOf(r, current) : undefined;
      if (!scale) throw errors.notFound(r.plural, r.group, route.name!);
      const patched = type === 'application/json-patch+json' ? jsonPatch(scale, patchBody) : mergePatch(scale, patchBody);
      return send(res, 200, this.setScale(r, route.namespace, route.name!, patched?.spec?.replicas));
    }
    if (!current) {
      if (type === 'application/apply-patch+yaml') {
        const warnings: string[] = [];
        const created = this.create(r, route.namespace, patchBody, dryRun, warnings, user);
        return send(res, 201, created, warnings);
      }
      throw errors.notFound(r.plural, r.group, route.name!);
    }
    let next: any;
    switch (type) {
      case 'application/json-patch+json': next = jsonPatch(current, patchBody); break;
      case 'application/merge-patch+json': next = mergePatch(current, patchBody); break;
      case 'application/strategic-merge-patch+json':
      case 'application/apply-patch+yaml': next = strategicMerge(current, patchBody); break;
      default: throw errors.unsupportedMedia(type);
    }
    next.metadata = { ...next.metadata, resourceVersion: patchBody?.metadata?.resourceVersion ?? current.metadata.resourceVersion };
    const warnings: string[] = [];
    const replaced = this.replace(r, route.namespace, route.name!, next, route.subresource, dryRun, warnings, user);
    return send(res, 200, replaced, warnings);
  }

  /** POST serviceaccounts/NAME/token (`kubectl create token`). */
  private tokenRequest(ns: string, name: string, body: any): unknown {
    const { token, expirationTimestamp } = this.tokenIssuer.issue(ns, name, body?.spec ?? {});
    return {
      kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name, namespace: ns, creationTimestamp: null },
      spec: { audiences: body?.spec?.audiences ?? ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: body?.spec?.expirationSeconds ?? 3600, boundObjectRef: body?.spec?.boundObjectRef ?? null },
      status: { token, expirationTimestamp },
    };
  }

  private scaleOf(r: ResourceType, obj: KubeObject): unknown {
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
      spec: { replicas: obj.spec?.replicas ?? 0 },
      status: { replicas: obj.status?.replicas ?? 0, selector: Object.entries(obj.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  private setScale(r: ResourceType, ns: string | undefined, name: string, replicas: unknown): unknown {
    if (typeof replicas !== 'number' || replicas < 0) throw errors.invalid('Scale', 'autoscaling', name, [{ field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` }]);
    const updated = this.store.mutate(r, ns, name, (o) => {
      o.spec.replicas = replicas;
    });
    if (!updated) throw errors.notFound(r.plural, r.group, name);
    return this.scaleOf(r, updated);
  }

  delete(r: ResourceType, ns: string | undefined, name: string, opts: any, dryRun = false): KubeObject {
    const obj = this.store.mustGet(r, ns, name);
    const pre = opts?.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) throw errors.conflict(r.plural, r.group, name);
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) throw errors.conflict(r.plural, r.group, name);
    if (dryRun) return obj;
    if (obj.metadata.deletionTimestamp) return obj;
    // Orphan and Foreground leave the object in place with a finalizer the garbage collector
    // (controllers/gc.ts) acts on and removes; Background deletes it now and the collector
    // removes the dependents afterwards.
    const policy = propagationPolicy(r, opts);
    if ((policy === 'Orphan' || policy === 'Foreground') && r.kind !== 'Namespace' && this.dependents(obj.metadata.uid).length > 0) {
      return this.store.mutate(r, ns, name, (o) => {
        o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        o.metadata.deletionGracePeriodSeconds = 0;
        o.metadata.finalizers = [...(o.metadata.finalizers ?? []), policy === 'Orphan' ? 'orphan' : 'foregroundDeletion'];
      }) ?? obj;
    }
    if (opts?.gracePeriodSeconds === 0 && r.kind === 'Pod') {
      const updated = this.store.mutate(r, ns, name, (o) => {
        o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        o.metadata.deletionGracePeriodSeconds = 0;
      })!;
      this.opts.hooks.onDelete(r, updated);
      return updated;
    }
    if (this.opts.hooks.onDelete(r, obj)) return this.store.get(r, ns, name) ?? obj;
    if ((obj.metadata.finalizers ?? []).length > 0) {
      return this.store.mutate(r, ns, name, (o) => {
        o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      }) ?? obj;
    }
    return this.store.remove(r, ns, name);
  }

  /** Drops one finalizer; an object being deleted goes once none are left. */
  removeFinalizer(r: ResourceType, ns: string | undefined, name: string, finalizer: string): void {
    const updated = this.store.mutate(r, ns, name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
      if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
    });
    if (updated) this.finishDeletionIfReady(r, updated);
  }

  /** An object with deletionTimestamp and no finalizers left is removed (the real server's rule). */
  private finishDeletionIfReady(r: ResourceType, obj: KubeObject): void {
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0 && r.kind !== 'Pod' && r.kind !== 'Namespace') {
      this.store.remove(r, obj.metadata.namespace, obj.metadata.name);
    }
  }

  dependents(uid: string): { r: ResourceType; o: KubeObject }[] {
    const out: { r: ResourceType; o: KubeObject }[] = [];
    for (const r of RESOURCES) {
      if (r.createOnly) continue;
      for (const o of this.store.list(r)) if ((o.metadata.ownerReferences ?? []).some((ref: any) => ref.uid === uid)) out.push({ r, o });
    }
    return out;
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const { r } = route;
    const table = wantsTable(req.headers.accept);
    const labelSel = q.get('labelSelector') ?? undefined;
    let fieldSel = q.get('fieldSelector') ?? undefined;
    if (route.name) fieldSel = [`metadata.name=${route.name}`, fieldSel].filter(Boolean).join(',');
    const matches = (o: KubeObject) => (!route.namespace || o.metadata.namespace === route.namespace) && matchLabelString(o.metadata.labels, labelSel) && matchFieldString(o, fieldSel);
    const rvParam = q.get('resourceVersion');
    const sent = new Set<string>();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders(); // a watch with nothing to report yet must still answer, as the real server does
    const write = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n');
    const emit = (type: string, o: KubeObject) => {
      const uid = o.metadata.uid as string;
      const ok = matches(o);
      let t = type;
      if (type === 'DELETED') {
        if (!sent.has(uid) && !ok) return;
        sent.delete(uid);
      } else if (ok) {
        if (!sent.has(uid)) t = 'ADDED';
        sent.add(uid);
      } else if (sent.has(uid)) {
        sent.delete(uid);
        t = 'DELETED';
      } else return;
      write(t, table ? toTable(r, [o], { resourceVersion: o.metadata.resourceVersion }, q.get('includeObject')) : o);
    };
    const live: { type: string; object: KubeObject }[] = [];
    let replaying = true;
    const unsubscribe = this.store.subscribe((e) => {
      if (e.resource !== r) return;
      if (replaying) live.push(e);
      else emit(e.type, e.object);
    });
    const rv = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (rv === undefined) {
      for (const o of this.store.list(r, route.namespace)) emit('ADDED', o);
    } else {
      const past = this.store.since(rv);
      if (!past) {
        write('ERROR', errors.gone(`too old resource version: ${rv} (${this.store.resourceVersion})`).toStatus());
        unsubscribe();
        res.end();
        return;
      }
      for (const e of past) if (e.resource === r) emit(e.type, e.object);
    }
    replaying = false;
    for (const e of live) emit(e.type, e.object);
    this.watchers.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? 1800);
    const timer = setTimeout(() => res.end(), Math.min(timeout, 3600) * 1000);
    const bookmarks = q.get('allowWatchBookmarks') === 'true' ? setInterval(() => {
      write('BOOKMARK', { kind: r.kind, apiVersion: groupVersion(r), metadata: { resourceVersion: String(this.store.resourceVersion) } });
    }, 10_000) : undefined;
    const stop = () => {
      clearTimeout(timer);
      if (bookmarks) clearInterval(bookmarks);
      unsubscribe();
      this.watchers.delete(res);
    };
    res.on('close', stop);
  }

  private async review(req: IncomingMessage, res: ServerResponse, user: UserInfo, r: ResourceType): Promise<void> {
    if (req.method !== 'POST') throw errors.methodNotAllowed();
    const body = parseObject(await readBody(req), req.headers['content-type'] ?? '');
    if (r.kind === 'SelfSubjectReview') {
      // `kubectl auth whoami`: who the server takes the caller for
      return send(res, 201, { kind: r.kind, apiVersion: groupVersion(r), metadata: { creationTimestamp: null }, status: { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } } });
    }
    if (r.kind === 'SelfSubjectAccessReview') {
      const ra = body?.spec?.resourceAttributes;
      const na = body?.spec?.nonResourceAttributes;
      const a: Attributes = ra
        ? { verb: ra.verb, namespace: ra.namespace || undefined, apiGroup: ra.group ?? '', resource: ra.resource, subresource: ra.subresource || undefined, name: ra.name || undefined }
        : { verb: na?.verb ?? 'get', path: na?.path ?? '/' };
      const allowed = this.authorizer.allowed(user, a);
      return send(res, 201, { kind: r.kind, apiVersion: groupVersion(r), metadata: { creationTimestamp: null }, spec: body.spec, status: { allowed, ...(allowed ? { reason: 'RBAC: allowed' } : {}) } });
    }
    const ns = body?.spec?.namespace;
    const rules = user.groups.includes('system:masters')
      ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }]
      : this.authorizer.rulesFor(user, ns);
    return send(res, 201, {
      kind: r.kind, apiVersion: groupVersion(r), metadata: { creationTimestamp: null }, spec: body.spec,
      status: { resourceRules: rules.filter((x: any) => !x.nonResourceURLs), nonResourceRules: rules.filter((x: any) => x.nonResourceURLs), incomplete: false },
    });
  }
}

/**
 * The propagation a delete asks for: propagationPolicy, else the deprecated orphanDependents,
 * else the type's default (batch/v1 Jobs still orphan their pods by default; the rest: Background).
 */
function propagationPolicy(r: ResourceType, opts: any): string {
  if (opts?.propagationPolicy) return opts.propagationPolicy;
  if (opts?.orphanDependents === true) return 'Orphan';
  if (opts?.orphanDependents === false) return 'Background';
  return r.kind === 'Job' ? 'Orphan' : 'Background';
}
