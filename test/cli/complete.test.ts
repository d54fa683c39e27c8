// Shell completion through the real kubectl: `kubectl __complete tap WORDS` is what kubectl's
// completion scripts run on TAB, and kubectl (>= 1.26) hands it to kubectl_complete-tap on PATH.
// Subcommands, flags and flag values offline; namespaces and pod names from the simulated cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { cliPath, ensureBuilt, repoRoot } from '../helpers/cli.js';
import { up, down, type UpResult } from '../cluster/cluster.js';
import { hasKubectl, waitFor } from '../cluster/kubectl.js';

const bin = mkdtempSync(join(tmpdir(), 'tap-complete-'));
const PATH = [bin, dirname(process.execPath), process.env.PATH].join(delimiter);

/** What kubectl's completion would offer for `kubectl tap WORDS`, and cobra's directive. */
function complete(words: string[], kubeconfig?: string): { candidates: string[]; directive: string; stderr: string } {
  const env = { ...process.env, PATH, KUBECTL_TAP_DEBUG: '1', ...(kubeconfig ? { KUBECONFIG: kubeconfig } : { KUBECONFIG: join(bin, 'none') }) };
  const r = spawnSync('kubectl', ['__complete', 'tap', ...words], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const directive = lines.pop()!;
  assert.match(directive, /^:\d+$/, r.stdout);
  return { candidates: lines, directive, stderr: r.stderr };
}

// Both groups complete through the same PATH: the built CLI and the completion executable.
before(() => {
  ensureBuilt();
  symlinkSync(cliPath, join(bin, 'kubectl-tap'));
  symlinkSync(join(repoRoot, 'packaging/kubectl_complete-tap'), join(bin, 'kubectl_complete-tap'));
});
after(() => rmSync(bin, { recursive: true, force: true }));

describe('kubectl tap <TAB>', { skip: !hasKubectl() && 'kubectl not installed' }, () => {
  test('subcommands by prefix, and no file names offered', () => {
    const first = complete(['']);
    assert.deepEqual([first.candidates, first.directive], [['read', 'clean', 'manifests', 'version'], ':4']);
    assert.deepEqual(complete(['re']).candidates, ['read']);
  });

  test("each command's own flags, their aliases and their choices", () => {
    assert.deepEqual(complete(['read', '--max-']).candidates, ['--max-body', '--max-messages']);
    assert.ok(complete(['--pro']).candidates.includes('--protocol'), 'the tap command has --protocol');
    assert.ok(!complete(['read', '--pro']).candidates.includes('--protocol'), 'read has no --protocol');
    assert.deepEqual(complete(['read', '-o', '']).candidates, ['ndjson', 'summary', 'dot', 'har', 'openapi']);
    assert.deepEqual(complete(['version', '--output', 'j']).candidates, ['json']);
  });

  test('a capture file after read: the shell completes file names', () => {
    assert.equal(complete(['read', '']).directive, ':0');
  });

  test('with no cluster reachable, pods and namespaces complete to nothing, quietly', () => {
    const r = complete(['-n', '']);
    assert.deepEqual([r.candidates, r.directive], [[], ':4']);
    assert.match(r.stderr, /kubectl get namespaces .*: /, 'the completer did not ask kubectl');
  });
});

const isRoot = process.getuid?.() === 0;
describe('kubectl tap <TAB> on the simulated cluster', { skip: (!isRoot && 'needs root: the simulated cluster') || (!hasKubectl() && 'kubectl not installed') }, () => {
  const dir = join(repoRoot, '.cluster', 'tests', 'complete-test');
  let cluster: UpResult;
  before(async () => {
    mkdirSync(dir, { recursive: true });
    cluster = await up({ dir, nodes: 1, shop: true });
  }, { timeout: 240_000 });
  after(async () => {
    await down({ dir });
  }, { timeout: 60_000 });

  test('namespaces after -n and --from-namespace, pod names in the namespace the words name', { timeout: 90_000 }, async () => {
    const { candidates: namespaces, stderr } = complete(['-n', ''], cluster.kubeconfig);
    assert.ok(namespaces.includes('shop') && namespaces.includes('default'), `${namespaces.join(' ')}: ${stderr}`);
    assert.deepEqual(complete(['--from-namespace', 'sh'], cluster.kubeconfig).candidates, ['shop']);
    // The shop's pods are created by its controllers shortly after the cluster is up.
    const frontends = await waitFor('the shop\'s frontend pods', async () => {
      const listed = spawnSync('kubectl', ['get', 'pods', '-n', 'shop', '-o', 'name'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, encoding: 'utf8' });
      const names = listed.stdout.split('\n').filter((l) => l.startsWith('pod/frontend')).map((l) => l.replace(/^pod\//, ''));
      return names.length > 0 ? names : undefined;
    }, 60_000);
    assert.deepEqual(complete(['-n', 'shop', 'frontend'], cluster.kubeconfig).candidates.sort(), frontends.sort());
    assert.deepEqual(complete(['-n', 'shop', '--to-pod', 'frontend'], cluster.kubeconfig).candidates.sort(), frontends.sort());
    assert.deepEqual(complete(['frontend'], cluster.kubeconfig).candidates, [], 'pods of shop offered outside -n shop');
  });
});
