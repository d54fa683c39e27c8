// Our engine and tshark read the same HTTP/1.x captures (testdata/http1) and must agree on
// the number of transactions and the counts of each method and each status.
//
// tshark is run with tcp.reassemble_out_of_order on (off by default in 4.0, and the impaired
// capture has reordered segments) and with the servers' ports decoded as HTTP (they are not
// all ports tshark knows). One justified difference: tshark lists interim 1xx responses
// (100 Continue) as responses of their own; they are not transactions, so they are left out
// of tshark's status counts before comparing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { entriesFromCapture } from '../helpers/engine.js';
import { assertValidEntries } from '../helpers/schema.js';

const dir = fileURLToPath(new URL('../../testdata/http1/', import.meta.url));
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

interface Expected {
  capture: string;
  serverPorts: number[];
  transactions: number;
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function tsharkField(capture: string, ports: number[], filter: string, field: string): string[] {
  const args = [
    '-n', '-r', capture,
    '-o', 'tcp.reassemble_out_of_order:TRUE',
    ...ports.flatMap((p) => ['-d', `tcp.port==${p},http`]),
    '-Y', filter, '-T', 'fields', '-e', field,
  ];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
  // Several messages in one frame (pipelining) come out as one line of comma-separated values.
  return r.stdout.split('\n').filter(Boolean).flatMap((line) => line.split(','));
}

const expectedFiles = readdirSync(dir).filter((f) => f.endsWith('.expected.json')).sort();

for (const file of expectedFiles) {
  const expected = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as Expected;

  test(`${expected.capture}: engine and tshark agree on HTTP transactions, methods and statuses`, async (t) => {
    if (!hasTshark) {
      t.skip('needs tshark: not installed, so the engine cannot be compared with it (apt-get install tshark)');
      return;
    }
    const path = `${dir}${expected.capture}`;
    const tsharkMethods = tsharkField(path, expected.serverPorts, 'http.request', 'http.request.method');
    const tsharkStatuses = tsharkField(path, expected.serverPorts, 'http.response', 'http.response.code')
      .filter((code) => !code.startsWith('1')); // interim responses: see the header comment

    const { entries } = await entriesFromCapture(path);
    assertValidEntries(entries);
    const http = entries.filter((e) => e.protocol === 'http');
    const methods = http.map((e) => String(e.request.method));
    const statuses = http.flatMap((e) => (e.response ? [String(e.response.status)] : []));

    assert.equal(http.length, tsharkMethods.length, 'transactions (engine entries vs tshark requests)');
    assert.deepEqual(countBy(methods), countBy(tsharkMethods), 'counts by method');
    assert.deepEqual(countBy(statuses), countBy(tsharkStatuses), 'counts by status');
    // Both also agree with the recording server's log, or one of the two comparisons is moot.
    assert.equal(tsharkMethods.length, expected.transactions, 'tshark vs the ground truth');
  });
}
