// The process runtime's volume mounts (test/cluster/controllers/mountns.ts), run for real in a
// private mount namespace: a volume whose mountPath holds another volume's source (an emptyDir
// on /tmp while the checkout, and so the pods' files, live under /tmp) is mounted after it, so
// the source is still there to mount; the container sees both volumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withMounts } from './controllers/mountns.js';
import { root, skipUnless, tool } from '../helpers/requirements.js';

test('a volume mounted over the folder that holds another volume\'s source comes after it', (t) => {
  if (skipUnless(t, root, tool('unshare', '--version'))) return;
  const base = mkdtempSync(join(tmpdir(), 'tap-mountns-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  // `covered` plays /tmp: the emptyDir goes there, and the pod's file lives inside it.
  const covered = join(base, 'covered');
  const emptyDir = join(base, 'empty');
  const elsewhere = join(base, 'elsewhere');
  for (const d of [covered, join(covered, 'pod'), emptyDir, elsewhere]) mkdirSync(d, { recursive: true });
  writeFileSync(join(covered, 'pod', 'resolv.conf'), 'nameserver 10.96.0.10\n');
  writeFileSync(join(elsewhere, 'resolv.conf'), '');
  writeFileSync(join(emptyDir, 'scratch'), 'emptyDir\n');
  const argv = withMounts(
    [
      { source: emptyDir, target: covered, readOnly: false },
      { source: join(covered, 'pod', 'resolv.conf'), target: join(elsewhere, 'resolv.conf'), readOnly: true },
    ],
    ['sh', '-c', `cat ${join(elsewhere, 'resolv.conf')} ${join(covered, 'scratch')}`],
  );
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', ...argv], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'nameserver 10.96.0.10\nemptyDir\n');
});
