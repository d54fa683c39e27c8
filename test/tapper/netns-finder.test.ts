// Mesh capture's search for a pod's network namespace (src/node/netns-finder.ts), on real
// namespaces: two namespaces made here hold the same IPv4 and IPv6 addresses (as two
// clusters' pods on one machine do), each with a process whose HOSTNAME names its pod; the
// pod is found by its addresses and its identity, with its namespace's own inode, never the
// other; an address no namespace holds is not found, and the host's own namespace is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { localIpv4, NetnsFinder } from '../../src/node/netns-finder.js';
import { root, skipUnless, tool } from '../helpers/requirements.js';

function podNamespace(netns: string): void {
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'pod1']);
  execFileSync('ip', ['-n', netns, 'addr', 'add', '10.250.7.9/24', 'dev', 'pod0']);
  execFileSync('ip', ['-n', netns, 'addr', 'add', 'fd00:7::9/64', 'dev', 'pod0', 'nodad']);
  for (const dev of ['pod0', 'pod1']) execFileSync('ip', ['-n', netns, 'link', 'set', dev, 'up']);
}

/** A process in the namespace, with the environment a container runtime gives a pod's process; resolves once it is inside. */
async function podProcess(netns: string, podName: string, own: string): Promise<{ child: ChildProcess; inode: string }> {
  const child = spawn('ip', ['netns', 'exec', netns, 'sleep', '30'], { stdio: 'ignore', env: { PATH: process.env.PATH, HOSTNAME: podName } });
  for (let i = 0; i < 100 && readlinkSync(`/proc/${child.pid}/ns/net`) === own; i++) await new Promise((r) => setTimeout(r, 20));
  return { child, inode: readlinkSync(`/proc/${child.pid}/ns/net`) };
}

test('a pod namespace is found by its addresses and its identity, through /proc, not another holding the same addresses', async (t) => {
  if (skipUnless(t, root, tool('ip', '-V'))) return;
  const names = [`tapfind-a-${process.pid}`, `tapfind-b-${process.pid}`];
  const children: ChildProcess[] = [];
  try {
    const own = readlinkSync('/proc/self/ns/net');
    for (const n of names) podNamespace(n);
    const a = await podProcess(names[0]!, 'payments-aaaaa', own);
    const b = await podProcess(names[1]!, 'payments-bbbbb', own);
    children.push(a.child, b.child);
    assert.notEqual(a.inode, own);
    assert.notEqual(a.inode, b.inode);

    const finder = new NetnsFinder('/proc');
    const pod = { uid: '0f6c1d2e-0000-4000-8000-00000000000b', name: 'payments-bbbbb' };
    const scan = finder.scan(new Map([['10.250.7.9', pod], ['fd00:7::9', pod], ['10.250.7.10', pod]]), own);
    assert.ok(scan.foreign > 0);
    assert.equal(scan.found.get('10.250.7.9')?.inode, b.inode);
    assert.equal(scan.found.get('fd00:7::9')?.inode, b.inode);
    assert.equal(readlinkSync(scan.found.get('10.250.7.9')!.path), b.inode, 'the path opens that namespace');
    assert.equal(scan.found.has('10.250.7.10'), false, 'an address no namespace holds');
    // A pod no process shows is not found, though its address is held.
    assert.equal(finder.scan(new Map([['10.250.7.9', { uid: '', name: 'payments-ccccc' }]]), own).found.size, 0);
    // The host's own addresses are never a pod's: its namespace is skipped.
    const hostAddress = localIpv4(readFileSync('/proc/self/net/fib_trie', 'utf8'))[0];
    if (hostAddress !== undefined) assert.equal(finder.scan(new Map([[hostAddress, { uid: '', name: process.env.HOSTNAME ?? '' }]]), own).found.size, 0);
  } finally {
    for (const c of children) c.kill();
    for (const n of names) execFileSync('ip', ['netns', 'del', n]);
  }
});
