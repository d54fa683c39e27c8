// Shorthand filters in the habit of `hubble observe`: --protocol, --http-status 5xx,
// --method, --path-prefix, --from-pod/--to-pod, --from-service/--to-service,
// --from-namespace/--to-namespace. Each compiles to a JSONata clause; values of one flag are
// alternatives (or), flags together narrow (and). Clauses on addresses' names can only run
// in the CLI (the tappers do not know names); the others are pushed to the nodes with
// --filter.
import { UsageError } from '../errors.js';

export interface Shorthands {
  protocol: string[];
  httpStatus: string[];
  method: string[];
  pathPrefix: string[];
  fromPod: string[];
  toPod: string[];
  fromService: string[];
  toService: string[];
  fromNamespace: string[];
  toNamespace: string[];
}

export interface Clause {
  jsonata: string;
  /** Reads a resolved name: must run in the CLI. */
  needsNames: boolean;
}

const q = (s: string) => JSON.stringify(s);
const anyOf = (parts: string[]) => (parts.length === 1 ? parts[0]! : `(${parts.join(' or ')})`);
const PROTOCOLS = ['http', 'grpc', 'redis', 'kafka', 'amqp', 'dns', 'tls'];

export function compileShorthands(s: Shorthands): Clause[] {
  const clauses: Clause[] = [];
  if (s.protocol.length > 0) {
    for (const p of s.protocol) if (!PROTOCOLS.includes(p)) throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(', ')}, not "${p}"`);
    clauses.push({ jsonata: anyOf(s.protocol.map((p) => `protocol = ${q(p)}`)), needsNames: false });
  }
  if (s.httpStatus.length > 0) clauses.push({ jsonata: anyOf(s.httpStatus.map(statusClause)), needsNames: false });
  if (s.method.length > 0) clauses.push({ jsonata: anyOf(s.method.map((m) => `request.method = ${q(m.toUpperCase())}`)), needsNames: false });
  if (s.pathPrefix.length > 0) clauses.push({ jsonata: anyOf(s.pathPrefix.map((p) => `$substring(request.path, 0, ${p.length}) = ${q(p)}`)), needsNames: false });
  for (const [values, end] of [[s.fromPod, 'src'], [s.toPod, 'dst']] as const) {
    if (values.length > 0) clauses.push({ jsonata: anyOf(values.map((v) => podClause(end, v))), needsNames: true });
  }
  for (const [values, end] of [[s.fromService, 'src'], [s.toService, 'dst']] as const) {
    if (values.length > 0) clauses.push({ jsonata: anyOf(values.map((v) => serviceClause(end, v))), needsNames: true });
  }
  for (const [values, end] of [[s.fromNamespace, 'src'], [s.toNamespace, 'dst']] as const) {
    if (values.length > 0) clauses.push({ jsonata: anyOf(values.map((v) => `${end}.namespace = ${q(v)}`)), needsNames: true });
  }
  return clauses;
}

/** "5xx" (a class), "404" (one status). */
function statusClause(text: string): string {
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) return `(response.status >= ${cls[1]}00 and response.status < ${Number(cls[1]) + 1}00)`;
  if (/^[1-5]\d\d$/.test(text)) return `response.status = ${Number(text)}`;
  throw new UsageError(`--http-status must be a status like 404 or a class like 5xx, not "${text}"`);
}

/** "[namespace/]pod-name-prefix", as hubble's --from-pod. */
function podClause(end: 'src' | 'dst', value: string): string {
  const [ns, prefix] = value.includes('/') ? (value.split('/', 2) as [string, string]) : [undefined, value];
  const pod = `$substring(${end}.pod, 0, ${prefix.length}) = ${q(prefix)}`;
  return ns ? `(${end}.namespace = ${q(ns)} and ${pod})` : pod;
}

/** "[namespace/]service". */
function serviceClause(end: 'src' | 'dst', value: string): string {
  const [ns, name] = value.includes('/') ? (value.split('/', 2) as [string, string]) : [undefined, value];
  return ns ? `(${end}.namespace = ${q(ns)} and ${end}.service = ${q(name)})` : `${end}.service = ${q(name)}`;
}

/** Joins clauses (and the user's --filter) into one expression, or undefined when there are none. */
export function joinClauses(parts: (string | undefined)[]): string | undefined {
  const present = parts.filter((p): p is string => p !== undefined && p !== '');
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : present.map((p) => `(${p})`).join(' and ');
}
