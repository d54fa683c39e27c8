// scripts/run-tests.mjs and scripts/test-guard.mjs on purpose-made fixtures: a hanging test
// fails by name and the rest of its file still runs, a file that leaves a server open fails
// naming it, a skip is listed and fails the run under TEST_STRICT, and the total is printed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { root, skipUnless, tool } from '../helpers/requirements.js';

const fixtures = 'test/runner/fixtures';

function runner(files: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', ...files.map((f) => `${fixtures}/${f}`)], {
      cwd: repoRoot,
      env: { ...process.env, TEST_STRICT: '0', TEST_TIMEOUT_MS: '1500', TEST_EXIT_GRACE_MS: '1500', ...env },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('a hanging test fails by name after the per-test timeout; the tests after it still run', { timeout: 60_000 }, async () => {
  const r = await runner(['hang.fixture.ts'], {});
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /✖ fixture: never ends[\s\S]*test timed out after 1500ms/);
  assert.match(r.out, /✔ fixture: runs after the hang/);
  assert.match(r.out, /\n2 passed, 1 failed, 0 skipped in \d+m \d+s \(1 files, \d+ at a time\)\n/);
});

test('a file that leaves a server open fails, naming what is open', { timeout: 60_000 }, async () => {
  const r = await runner(['leak.fixture.ts'], {});
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /leak\.fixture\.ts did not exit 1\.5 s after its last test; still open: 1 Server/);
});

test('skips are listed with their reason; under TEST_STRICT they fail the run', { timeout: 60_000 }, async () => {
  const loose = await runner(['skip.fixture.ts'], {});
  assert.equal(loose.code, 0, loose.out);
  assert.match(loose.out, /2 skipped:\n {2}- fixture: needs a tool nobody has: needs kubectl-tap-no-such-tool: not installed/);
  assert.match(loose.out, /- fixture: skipped at registration: needs kubectl-tap-no-such-tool-2/);
  assert.match(loose.out, /\n1 passed, 0 failed, 2 skipped in /);

  const strict = await runner(['skip.fixture.ts'], { TEST_STRICT: '1' });
  assert.equal(strict.code, 1, strict.out);
  // skipUnless() fails the test itself; a registration-time skip fails the run at the end.
  assert.match(strict.out, /needs kubectl-tap-no-such-tool: not installed .*TEST_STRICT is on/);
  assert.match(strict.out, /1 skipped, which fails the run/);
});

test('files that use the shared simulated cluster get one cluster, up before them and down after', { timeout: 300_000 }, async (t) => {
  if (skipUnless(t, root, tool('kubectl', 'version', '--client'))) return;
  const dir = join(repoRoot, '.cluster', 'tests', 'runner-selftest');
  const r = await runner(['cluster-a.fixture.ts', 'cluster-b.fixture.ts'], { TEST_CLUSTER_DIR: dir, TEST_TIMEOUT_MS: '120000' });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /shared simulated cluster for 2 file\(s\): bringing it up/);
  const pids = [...r.out.matchAll(/CLUSTER ([AB]) pid=(\d+) dir=(\S+)/g)].map((m) => ({ who: m[1], pid: m[2], dir: m[3] }));
  assert.deepEqual(pids.map((p) => p.who).sort(), ['A', 'B'], r.out);
  assert.equal(pids[0]!.pid, pids[1]!.pid, 'both files saw the same cluster daemon');
  assert.equal(pids[0]!.dir, dir);
  assert.ok(!existsSync(join(dir, 'state.json')), 'the cluster was taken down after the run');
});
