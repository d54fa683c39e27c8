// -o openapi: an OpenAPI 3.1 document per service, inferred from its observed HTTP calls
// (as Mizu's OAS feature did): path templates (path-template.ts), methods, path and query
// parameters, status codes, request and response schemas inferred from JSON bodies
// (json-schema.ts) with a redacted example each, and call counts, errors and latency as
// x-kubectl-tap-* extensions. gRPC calls are left out: their contract is the .proto.
// A service is the callee node of the service map (a workload, pod, service or name), or
// ip:port when the cluster named nothing.

import type { Entry } from '../../entry.js';
import { isFailedCall } from '../call-status.js';
import { LatencyHistogram } from '../latency.js';
import { nodeOf } from '../nodes.js';
import { SchemaBuilder, type Schema } from './json-schema.js';
import { pathTemplate, type ParameterKind } from './path-template.js';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const MAX_SERVICES = 200;
const MAX_OPERATIONS = 1000;
/** Examples longer than this (as JSON) are not kept: a schema says more than a huge sample. */
const MAX_EXAMPLE_CHARS = 4096;

class Body {
  readonly schema = new SchemaBuilder();
  example: unknown;
  text = false;
  binary = false;

  add(part: Record<string, unknown>): void {
    if (typeof part.body !== 'string' || part.body === '' || part.bodyTruncated) return;
    if (part.bodyEncoding === 'base64') return void (this.binary = true);
    const type = String((part.headers as Record<string, unknown> | undefined)?.['content-type'] ?? '');
    if (/json/i.test(type)) {
      try {
        const value = JSON.parse(part.body);
        this.schema.add(value);
        if (this.example === undefined && JSON.stringify(value).length <= MAX_EXAMPLE_CHARS) this.example = value;
        return;
      } catch {
        // Not JSON after all: described as text.
      }
    }
    this.text = true;
  }

  media(): Record<string, unknown> {
    const schema: Schema = !this.schema.empty ? this.schema.schema() : this.binary ? { type: 'string', contentEncoding: 'base64' } : { type: 'string' };
    return this.example === undefined ? { schema } : { schema, example: this.example };
  }

  get seen(): boolean {
    return !this.schema.empty || this.text || this.binary;
  }
}

/** The bodies of one message kind by media type. */
class Contents {
  private readonly byType = new Map<string, Body>();
  add(part: Record<string, unknown>): void {
    const type = String((part.headers as Record<string, unknown> | undefined)?.['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === '') return;
    let body = this.byType.get(type);
    if (!body) this.byType.set(type, (body = new Body()));
    body.add(part);
  }
  content(): Record<string, unknown> | null {
    const entries = [...this.byType].filter(([, b]) => b.seen);
    return entries.length === 0 ? null : Object.fromEntries(entries.map(([type, b]) => [type, b.media()]));
  }
}

class Operation {
  calls = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  readonly query = new Map<string, { count: number; values: SchemaBuilder }>();
  readonly request = new Contents();
  readonly responses = new Map<string, { count: number; description: string; contents: Contents }>();
  noResponse = 0;

  constructor(readonly pathParameters: Array<{ name: string; kind: ParameterKind }>) {}

  add(e: Entry): void {
    this.calls += 1;
    if (isFailedCall(e)) this.errors += 1;
    if (e.elapsedMs !== null) this.latency.add(e.elapsedMs);
    for (const [name, value] of Object.entries((e.request.query ?? {}) as Record<string, unknown>)) {
      let q = this.query.get(name);
      if (!q) this.query.set(name, (q = { count: 0, values: new SchemaBuilder() }));
      q.count += 1;
      for (const v of Array.isArray(value) ? value : [value]) q.values.add(/^-?\d+$/.test(String(v)) ? Number(v) : String(v));
    }
    this.request.add(e.request);
    const res = e.response;
    if (res === null || typeof res.status !== 'number') return void (this.noResponse += 1);
    const code = String(res.status);
    let r = this.responses.get(code);
    if (!r) this.responses.set(code, (r = { count: 0, description: String(res.statusText || `HTTP ${code}`), contents: new Contents() }));
    r.count += 1;
    r.contents.add(res);
  }

  toJSON(method: string, template: string): Record<string, unknown> {
    const parameters = [
      ...this.pathParameters.map((p) => ({
        name: p.name,
        in: 'path',
        required: true,
        schema: p.kind === 'integer' ? { type: 'integer' } : p.kind === 'uuid' ? { type: 'string', format: 'uuid' } : { type: 'string' },
      })),
      ...[...this.query].map(([name, q]) => ({ name, in: 'query', required: q.count === this.calls, schema: q.values.schema() })),
    ];
    const responses = Object.fromEntries(
      [...this.responses].sort(([a], [b]) => a.localeCompare(b)).map(([code, r]) => {
        const content = r.contents.content();
        return [code, { description: r.description, ...(content ? { content } : {}), 'x-kubectl-tap-calls': r.count }];
      }),
    );
    const requestContent = this.request.content();
    const op: Record<string, unknown> = {
      operationId: `${method}${template.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: `${method.toUpperCase()} ${template}`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestContent ? { requestBody: { content: requestContent } } : {}),
      // OpenAPI requires a response: calls seen without one are described as the default.
      responses: Object.keys(responses).length > 0 ? responses : { default: { description: 'no response was seen' } },
      'x-kubectl-tap-calls': this.calls,
      'x-kubectl-tap-errors': this.errors,
      'x-kubectl-tap-latency-ms': { p50: round(this.latency.quantile(0.5)), p99: round(this.latency.quantile(0.99)) },
    };
    if (this.noResponse > 0) op['x-kubectl-tap-no-response'] = this.noResponse;
    return op;
  }
}

class Service {
  readonly operations = new Map<string, { method: string; template: string; op: Operation }>();
  readonly servers = new Set<string>();
  calls = 0;
  first = '';
  last = '';
  overflow = 0;
}

export class OpenApiDocuments {
  private readonly services = new Map<string, Service>();
  /** HTTP calls not described: a method OpenAPI 3.1 has no field for, or past the bounds. */
  private skipped = 0;

  add(entry: Entry): void {
    if (entry.protocol !== 'http') return;
    const method = String(entry.request.method ?? '').toLowerCase();
    if (!METHODS.has(method)) return void (this.skipped += 1);
    const dst = nodeOf(entry.dst);
    const name = dst.kind === 'ip' ? `${dst.label.includes(':') ? `[${dst.label}]` : dst.label}:${entry.dst.port}` : dst.label;
    let service = this.services.get(name);
    if (!service) {
      if (this.services.size >= MAX_SERVICES) return void (this.skipped += 1);
      this.services.set(name, (service = new Service()));
    }
    const { template, parameters } = pathTemplate(String(entry.request.path ?? '/'));
    const key = `${method} ${template}`;
    let op = service.operations.get(key);
    if (!op) {
      if (service.operations.size >= MAX_OPERATIONS) return void (service.overflow += 1);
      service.operations.set(key, (op = { method, template, op: new Operation(parameters) }));
    }
    op.op.add(entry);
    service.calls += 1;
    service.first ||= entry.timestamp;
    service.last = entry.timestamp;
    const headers = (entry.request.headers ?? {}) as Record<string, unknown>;
    const host = entry.request.authority ?? headers.host;
    if (typeof host === 'string' && service.servers.size < 16) service.servers.add(`${String(entry.request.scheme ?? 'http')}://${host}`);
  }

  /** One OpenAPI 3.1 document per service, by service name. */
  documents(): Array<Record<string, unknown>> {
    return [...this.services].sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const { method, template, op } of [...s.operations.values()].sort((a, b) => a.template.localeCompare(b.template) || a.method.localeCompare(b.method))) {
        (paths[template] ??= {})[method] = op.toJSON(method, template);
      }
      const info: Record<string, unknown> = {
        title: name,
        version: 'observed',
        description: `Inferred by kubectl-tap from ${s.calls} HTTP calls observed between ${s.first} and ${s.last}.`,
        'x-kubectl-tap-calls': s.calls,
      };
      if (s.overflow > 0) info['x-kubectl-tap-operations-dropped'] = s.overflow;
      if (this.skipped > 0) info['x-kubectl-tap-calls-skipped'] = this.skipped;
      return { openapi: '3.1.0', info, servers: [...s.servers].map((url) => ({ url })), paths };
    });
  }

  /** -o openapi: one document a line. */
  render(): string {
    return this.documents().map((d) => JSON.stringify(d)).join('\n') + '\n';
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000;
}
