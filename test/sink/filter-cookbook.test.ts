// Every query of docs/filters.md, read from the document itself, run against real entries
// from several protocols' captures and compared with the same question asked in plain
// TypeScript. A row must select some entries but not all, or it proves nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry } from '../../src/entry.js';
import { compileFilter } from '../../src/sink/filter.js';
import { Stats } from '../../src/stats.js';
import { entriesFromCapture } from '../helpers/engine.js';
import { repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

type Predicate = (e: Entry) => boolean;
const req = (e: Entry) => e.request as Record<string, any>;
const res = (e: Entry) => (e.response ?? {}) as Record<string, any>;
const status = (e: Entry) => res(e).status as number | undefined;
const path = (e: Entry) => (typeof req(e).path === 'string' ? (req(e).path as string) : undefined);

const expectations: Record<string, Predicate> = {
  protocol: (e) => e.protocol === 'http',
  'grpc-errors': (e) => e.protocol === 'grpc' && res(e).grpcStatus !== undefined && res(e).grpcStatus !== 0,
  method: (e) => req(e).method === 'POST',
  'status-exact': (e) => status(e) === 404,
  'status-range': (e) => status(e) !== undefined && status(e)! >= 400 && status(e)! < 500,
  'status-set': (e) => status(e) === 404 || status(e) === 500,
  'server-errors': (e) => status(e) !== undefined && status(e)! >= 500,
  'path-exact': (e) => path(e) === '/api/items',
  'path-prefix': (e) => path(e)?.startsWith('/api') === true,
  'path-regex': (e) => /^\/(gzip|deflate|br)$/.test(path(e) ?? ''),
  'path-not': (e) => e.protocol === 'http' && path(e)?.startsWith('/api') !== true,
  'header-equals': (e) => req(e).headers?.['content-type'] === 'application/json',
  'header-contains': (e) => String(req(e).headers?.['user-agent'] ?? '').includes('curl'),
  'header-present': (e) => req(e).headers?.authorization !== undefined,
  'query-param': (e) => req(e).query?.limit === '10',
  'body-contains': (e) => typeof res(e).body === 'string' && res(e).body.includes('error'),
  'no-response': (e) => e.response === null,
  slow: (e) => e.elapsedMs !== null && e.elapsedMs > 5,
  'src-name': (e) => e.src.name === 'frontend',
  'dst-name': (e) => e.dst.name === 'cart',
  'dst-namespace': (e) => e.dst.namespace === 'shop',
  'and-or': (e) => e.protocol === 'http' && (e.src.name === 'frontend' || e.dst.name === 'catalog') && status(e) !== undefined && status(e)! >= 400,
  'redis-command': (e) => e.protocol === 'redis' && req(e).command === 'SET',
  'redis-key': (e) => e.protocol === 'redis' && typeof req(e).key === 'string' && req(e).key.startsWith('user:'),
  'kafka-api': (e) => e.protocol === 'kafka' && req(e).apiKey === 'Produce',
  'kafka-topic': (e) => e.protocol === 'kafka' && Array.isArray(req(e).topics) && req(e).topics.includes('orders'),
  'dst-port': (e) => e.dst.port === 8080,
};

/** The cookbook rows: | id | what | Mizu | JSONata |, with \| inside code cells. */
function cookbookRows(): { id: string; jsonata: string }[] {
  const text = readFileSync(join(repoRoot, 'docs/filters.md'), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\| [a-z-]+ \|/.test(line) && !line.startsWith('| id |'))
    .map((line) => {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
      return { id: cells[0], jsonata: cells[3].replace(/^`|`$/g, '') };
    });
}

/** Names as the cluster resolver would add them, assigned by address (capture files have none). */
function addNames(entries: Entry[]): void {
  const names = ['frontend', 'cart', 'catalog', 'checkout'];
  const known = new Map<string, string>();
  const nameOf = (ip: string, port: number, server: boolean) => {
    const key = server ? `${ip}:${port}` : ip;
    if (!known.has(key)) known.set(key, names[known.size % names.length]);
    return known.get(key)!;
  };
  for (const e of entries) {
    e.src.name = nameOf(e.src.ip, e.src.port, false);
    e.dst.name = nameOf(e.dst.ip, e.dst.port, true);
    e.dst.namespace = e.dst.name === 'checkout' ? 'payments' : 'shop';
  }
}

test('every cookbook query selects exactly what it says, on real entries', async () => {
  const captures = ['http1/ethernet-mixed.pcap', 'grpc/calls.pcap', 'redis/commands.pcap', 'kafka/kafka-produce-metadata.pcap', 'kafka/clients.pcap'];
  const entries: Entry[] = [];
  for (const c of captures) entries.push(...(await entriesFromCapture(join(repoRoot, 'testdata', c))).entries);
  addNames(entries);
  assertValidEntries(entries); // names included: what the cluster resolver adds is in the schema too
  const rows = cookbookRows();
  assert.deepEqual(rows.map((r) => r.id).sort(), Object.keys(expectations).sort(), 'docs/filters.md rows and this test list the same ids');
  for (const row of rows) {
    const stats = new Stats();
    const filter = compileFilter(row.jsonata, stats);
    const selected = [];
    for (const e of entries) if (await filter.matches(e)) selected.push(e.id);
    const want = entries.filter(expectations[row.id]).map((e) => e.id);
    assert.deepEqual(selected, want, `${row.id}: ${row.jsonata}`);
    assert.ok(want.length > 0 && want.length < entries.length, `${row.id} selects ${want.length} of ${entries.length}: not a meaningful check`);
    assert.equal(stats.get('filter.evaluationErrors'), 0, `${row.id} raised evaluation errors`);
  }
});
