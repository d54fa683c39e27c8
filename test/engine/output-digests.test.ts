// What `read` prints for every capture in testdata/ stays byte for byte what it was: the
// engine's NDJSON lines (the -o ndjson printer over the engine's entries, ids numbered from 1
// per capture since their prefix is random) hashed per capture and compared with
// testdata/output-digests.json. Speed work on the hot paths (parsers, entry building, output)
// must not move a byte; a deliberate change to what a dissector reports regenerates the file
// (OUTPUT_DIGESTS_WRITE=1 node --import tsx --test test/engine/output-digests.test.ts) and
// its diff is reviewed with the change. The digests were first written by an engine whose
// output was compared, capture by capture, with that of main at 6e69147.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { printerFor } from '../../src/sink/printers.js';
import { repoRoot } from '../helpers/cli.js';
import { entriesFromCapture } from '../helpers/engine.js';

const testdata = join(repoRoot, 'testdata');
const digestsFile = join(testdata, 'output-digests.json');

function captures(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return captures(path);
    return /\.(pcap|pcapng)$/.test(name) ? [path] : [];
  });
}

interface Digest {
  entries: number;
  sha256: string;
}

async function digestOf(path: string): Promise<Digest> {
  const print = printerFor('ndjson', false);
  const hash = createHash('sha256');
  const { entries } = await entriesFromCapture(path);
  entries.forEach((entry, i) => {
    const line = print(entry);
    const id = `"id":"${entry.id}"`;
    assert.ok(line.startsWith(`{${id}`), `${path}: an entry line starts with its id`);
    hash.update(`{"id":"${i + 1}"${line.slice(id.length + 1)}\n`);
  });
  return { entries: entries.length, sha256: hash.digest('hex') };
}

test('every testdata capture prints the same NDJSON as when the digests were written', { timeout: 600_000 }, async () => {
  const now: Record<string, Digest> = {};
  for (const path of captures(testdata)) now[relative(testdata, path)] = await digestOf(path);
  assert.ok(Object.keys(now).length >= 48, 'the captures of testdata/ were found');
  if (process.env.OUTPUT_DIGESTS_WRITE === '1') writeFileSync(digestsFile, JSON.stringify(now, null, 1) + '\n');
  const recorded = JSON.parse(readFileSync(digestsFile, 'utf8')) as Record<string, Digest>;
  const changed = Object.keys({ ...recorded, ...now }).filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(now[k]));
  assert.deepEqual(changed, [], `captures whose output changed (or that were added or removed): ${changed.join(', ')}`);
});
