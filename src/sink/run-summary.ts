// The end-of-run summary: entries per protocol, status classes, per edge, and losses; a few
// lines on stderr for people and the same as JSON (--summary-json) for machines.

import type { Entry } from '../entry.js';
import { statusClass } from './call-status.js';
import type { EdgeTable } from './edges.js';
import { lossCounters } from './losses.js';
import type { SessionOutcome } from './conditions.js';

/** Edges listed on stderr; --summary-json has all of them. */
const EDGES_ON_STDERR = 10;
/** Counters worth a line though they are not losses: what the engine could not read or place. */
const NOTABLE = /malformed|unclaimed|[eE]rror|truncated|unsupported|unpaired|unmatched|dropped|evicted|gap|overflow|toolarge|skipped|shed|lost|cut|overbudget|partial|refused|notdecoded|overSnaplen/i;

export interface EdgeSummary {
  from: string;
  to: string;
  protocol: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface RunReport {
  frames: number | null;
  /** Entries the engine (or the cluster's tappers) produced, before --filter. */
  entries: number;
  /** Entries that passed --filter and were handed to the outputs. */
  reported: number;
  byProtocol: Record<string, number>;
  statusClasses: Record<string, number>;
  edges: EdgeSummary[];
  losses: Record<string, number>;
  outcome: SessionOutcome & { exitCode: number };
  stats: Record<string, number>;
}

export class EntryCounts {
  readonly byProtocol = new Map<string, number>();
  readonly statusClasses = new Map<string, number>();

  add(entry: Entry): void {
    bump(this.byProtocol, entry.protocol);
    bump(this.statusClasses, statusClass(entry));
  }
}

export function buildReport(
  run: { frames: number | null; entries: number; stats: Record<string, number>; outcome: SessionOutcome; exitCode: number },
  counts: EntryCounts,
  edges: EdgeTable,
): RunReport {
  const label = (n: { label: string; namespace?: string }) => (n.namespace ? `${n.namespace}/${n.label}` : n.label);
  return {
    frames: run.frames,
    entries: run.entries,
    reported: edges.entries,
    byProtocol: sorted(counts.byProtocol),
    statusClasses: sorted(counts.statusClasses),
    edges: edges.edges().map((e) => ({
      from: label(e.from),
      to: label(e.to),
      protocol: e.protocol,
      calls: e.calls,
      errors: e.errors,
      p50Ms: round(e.latency.quantile(0.5)),
      p99Ms: round(e.latency.quantile(0.99)),
    })),
    losses: lossCounters(run.stats),
    outcome: { ...run.outcome, exitCode: run.exitCode },
    stats: run.stats,
  };
}

/** The stderr lines, each prefixed `kubectl tap: `. */
export function reportText(r: RunReport): string {
  const lines: string[] = [];
  const filtered = r.entries - r.reported;
  lines.push(`${r.frames === null ? '' : `${r.frames} frames, `}${r.entries} entries${filtered > 0 ? `, ${filtered} filtered out` : ''}`);
  if (r.reported > 0) {
    lines.push(`protocols: ${pairs(r.byProtocol)}`);
    lines.push(`status: ${pairs(r.statusClasses)}`);
    for (const e of r.edges.slice(0, EDGES_ON_STDERR)) {
      const latency = e.p50Ms === null ? '' : `, p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms`;
      lines.push(`edge ${e.from} -> ${e.to} ${e.protocol}: ${plural(e.calls, "call")}, ${plural(e.errors, "error")}${latency}`);
    }
    if (r.edges.length > EDGES_ON_STDERR) lines.push(`... and ${r.edges.length - EDGES_ON_STDERR} more edges (all in --summary-json)`);
  }
  const losses = Object.entries(r.losses);
  lines.push(losses.length === 0 ? 'losses: none' : `losses: ${losses.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const notable = Object.entries(r.stats).filter(([name, v]) => v > 0 && NOTABLE.test(name) && !(name in r.losses));
  if (notable.length > 0) lines.push(notable.map(([k, v]) => `${k}=${v}`).join(' '));
  const o = r.outcome;
  if (o.matched) lines.push(`${o.reason === 'failOn' ? '--fail-on' : '--wait-for'} matched: ${o.matched.summary} (entry ${o.matched.id})`);
  if (o.verdict === 'waitForUnmatched') lines.push(`--wait-for never matched (session ended: ${o.reason})`);
  if (o.verdict === 'lostData') lines.push('--strict: the session lost data (see losses)');
  return lines.map((l) => `kubectl tap: ${l}\n`).join('');
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sorted(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}

function pairs(record: Record<string, number>): string {
  return Object.entries(record).map(([k, v]) => `${k} ${v}`).join(', ');
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
