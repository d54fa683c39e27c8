// Mesh capture's search for a pod's network namespace (src/node/netns-finder.ts), on real
// namespaces: a process inside a namespace made here, holding an IPv4 and an IPv6 address,
// is found through /proc by either address, with the namespace's own inode; an address no
// namespace holds is not found, and the host's own namespace is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { localIpv4, NetnsFinder } from '../../src/node/netns-finder.js';
import { root, skipUnless, tool } from '../helpers/requirements.js';

test('a namespace is found by the addresses it holds, through /proc', async (t) => {
  if (skipUnless(t, root, tool('ip', '-V'))) return;
  const netns = `tapfind-${process.pid}`;
  execFileSync('ip', ['netns', 'add', netns]);
  const sleeper = spawn('ip', ['netns', 'exec', netns, 'sleep', '30'], { stdio: 'ignore' });
  try {
    execFileSync('ip', ['-n', netns, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'pod1']);
    execFileSync('ip', ['-n', netns, 'addr', 'add', '10.250.7.9/24', 'dev', 'pod0']);
    execFileSync('ip', ['-n', netns, 'addr', 'add', 'fd00:7::9/64', 'dev', 'pod0', 'nodad']);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'pod0', 'up']);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'pod1', 'up']);
    // The sleeper has exec'd into the namespace once its ns link differs from ours.
    const own = readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 100 && readlinkSync(`/proc/${sleeper.pid}/ns/net`) === own; i++) await new Promise((r) => setTimeout(r, 20));
    const expected = readlinkSync(`/proc/${sleeper.pid}/ns/net`);
    assert.notEqual(expected, own);

    const finder = new NetnsFinder('/proc');
    const scan = finder.scan(new Set(['10.250.7.9', 'fd00:7::9', '10.250.7.10']), own);
    assert.ok(scan.foreign > 0);
    const v4 = scan.found.get('10.250.7.9');
    const v6 = scan.found.get('fd00:7::9');
    assert.equal(v4?.inode, expected);
    assert.equal(v6?.inode, expected);
    assert.equal(readlinkSync(v4!.path), expected, 'the path opens that namespace');
    assert.equal(scan.found.has('10.250.7.10'), false, 'an address no namespace holds');
    // The host's own addresses are never a pod's: its namespace is skipped.
    const hostAddress = localIpv4(readFileSync('/proc/self/net/fib_trie', 'utf8'))[0];
    if (hostAddress !== undefined) assert.equal(finder.scan(new Set([hostAddress]), own).found.size, 0);
  } finally {
    sleeper.kill();
    execFileSync('ip', ['netns', 'del', netns]);
  }
});
