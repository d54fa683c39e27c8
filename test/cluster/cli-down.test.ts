// `npm run cluster -- down` says what it did, including when there was nothing to take down
// (it used to print "cluster down (0 network namespaces removed)", which reads as a failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, skipUnless } from '../helpers/requirements.js';
import { repoRoot } from './paths.js';

test('down where no cluster is says there was nothing to take down, exit 0', (t) => {
  if (skipUnless(t, root)) return; // the cluster CLI refuses to run without root
  const dir = mkdtempSync(join(tmpdir(), 'tap-no-cluster-'));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/cluster/cli.ts', 'down', '--dir', dir], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, `no cluster in ${dir}: nothing to take down\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
