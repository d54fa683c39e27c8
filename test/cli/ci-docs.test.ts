// docs/ci.md's smoke-test script, run as a CI job would run it: through kubectl's plugin
// discovery, on captures where it must pass (0), find a server error (4) and miss the call (3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

const script = join(repoRoot, 'scripts/ci-smoke-read.sh');
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

test('docs/ci.md shows scripts/ci-smoke-read.sh as it is', () => {
  const doc = readFileSync(join(repoRoot, 'docs/ci.md'), 'utf8');
  assert.ok(doc.includes(readFileSync(script, 'utf8').replace(/ \(docs\/ci\.md\)\./, '.').trimEnd()), 'the script in docs/ci.md differs from scripts/ci-smoke-read.sh');
});

test('the smoke-test script exits 0, 4 and 3 on captures, and leaves its summary and entries', { skip: !hasKubectl && 'kubectl not installed: the script runs `kubectl tap`' }, () => {
  ensureBuilt();
  const cases: Array<[string, number, RegExp]> = [
    ['testdata/http1/any-sll.pcap', 0, /^smoke test passed$/m],
    ['testdata/http1/ethernet-mixed.pcap', 4, /^smoke test failed: a server error: GET \/boom -> 500$/m],
    ['testdata/http1/impaired.pcap', 3, /^smoke test failed: POST \/api\/orders was never called$/m],
  ];
  for (const [capture, code, says] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'tap-smoke-'));
    try {
      const r = spawnSync('bash', [script, join(repoRoot, capture)], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${repoRoot}dist:${process.env.PATH}` },
      });
      assert.equal(r.status, code, `${capture}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, says);
      const summary = JSON.parse(readFileSync(join(dir, 'smoke-summary.json'), 'utf8'));
      assert.equal(summary.outcome.exitCode, code);
      const entries = readFileSync(join(dir, 'smoke-entries.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assertValidEntries(entries);
      assert.equal(entries.length, summary.reported);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
