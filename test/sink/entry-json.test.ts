// The NDJSON printer writes an entry's envelope from a template (src/sink/entry-json.ts):
// its lines must be exactly JSON.stringify's, for every entry of every testdata capture and
// for the shapes that take the general path (endpoints named by the resolver, the tapper's
// node and capture fields, error, incomplete and midstream flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry } from '../../src/entry.js';
import { entryJson } from '../../src/sink/entry-json.js';
import { repoRoot } from '../helpers/cli.js';
import { entriesFromCapture } from '../helpers/engine.js';

function captures(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return captures(path);
    return /\.(pcap|pcapng)$/.test(name) ? [path] : [];
  });
}

test('the printed line of every testdata entry is JSON.stringify of it', { timeout: 600_000 }, async () => {
  let checked = 0;
  for (const path of captures(join(repoRoot, 'testdata'))) {
    for (const entry of (await entriesFromCapture(path)).entries) {
      assert.equal(entryJson(entry), JSON.stringify(entry), path);
      checked += 1;
    }
  }
  assert.ok(checked > 1000, `entries checked: ${checked}`);
});

test('entries the template does not cover are printed by JSON.stringify, flags in their place', () => {
  const base = (): Entry => ({
    id: 'abcdef01-00000a', timestamp: '2026-12-01T00:00:00.000001Z', elapsedMs: 1.5, protocol: 'http',
    src: { ip: '10.0.0.1', port: 1234 }, dst: { ip: 'fd00::1', port: 80 },
    request: { method: 'GET', path: '/"quoted"\u2028' }, response: null, summary: 'GET / "x"\n',
  });
  const shapes: Entry[] = [];
  shapes.push(base());
  shapes.push({ ...base(), error: 'stream reset "CANCEL"', incomplete: true, midstream: true });
  shapes.push({ ...base(), elapsedMs: null, incomplete: true });
  shapes.push({ ...base(), elapsedMs: NaN });
  const named = base();
  named.dst = { ip: '10.0.0.2', port: 80, name: 'cart', namespace: 'shop', kind: 'pod', pod: 'cart', workload: 'cart', node: 'n1' };
  shapes.push(named);
  const dialed = base();
  dialed.dst = { ip: '10.0.0.2', port: 80, service: 'cart' };
  shapes.push(dialed);
  shapes.push({ ...base(), node: 'node-1', capture: { local: ['dst'], dialed: { ip: '10.96.0.9', port: 80 } } });
  for (const entry of shapes) assert.equal(entryJson(entry), JSON.stringify(entry));
});
