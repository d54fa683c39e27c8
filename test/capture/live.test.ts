// Live capture on lo (root only): a real HTTP request to a local node server arrives as
// Ethernet frames that decode to the request's TCP packets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LinkType } from '../../src/capture/frame.js';
import { openLiveCapture } from '../../src/capture/live.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { Stats } from '../../src/stats.js';
import { captureAddon, root, skipUnless, tool } from '../helpers/requirements.js';

test('live capture on lo sees a real HTTP exchange', async (t) => {
  if (skipUnless(t, root, captureAddon)) return;
  const server = http.createServer((req, res) => res.end(`you asked for ${req.url}`));
  let capture: ReturnType<typeof openLiveCapture> | undefined;
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const decoder = new PacketDecoder(new Stats());
    const linkTypes = new Set<number>();
    const payloads: string[] = [];
    capture = openLiveCapture({ device: 'lo', filter: `tcp port ${port}` }, (frame) => {
      linkTypes.add(frame.linkType);
      const packet = decoder.decode(frame);
      if (packet !== null && packet.payload.length > 0) payloads.push(`${packet.srcPort}>${packet.dstPort}:${packet.payload.toString('latin1')}`);
    });
    assert.equal(capture.linkType, LinkType.ETHERNET);
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/live-check', agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'you asked for /live-check');
    // Immediate mode: frames arrive as soon as libpcap's poll fires; wait for the response to show.
    for (let i = 0; i < 100 && !payloads.some((p) => p.includes('you asked for')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([...linkTypes], [LinkType.ETHERNET]);
    const request = payloads.find((p) => p.includes('GET /live-check HTTP/1.1'));
    assert.ok(request !== undefined, `request not captured: ${payloads.join(' | ')}`);
    assert.ok(request.split(':')[0]!.endsWith(`>${port}`), `request has the wrong direction: ${request}`);
    assert.ok(payloads.some((p) => p.startsWith(`${port}>`) && p.includes('you asked for /live-check')), 'response not captured');
    const stats = capture.stats();
    assert.ok(stats.delivered >= 4, `only ${stats.delivered} frames delivered`);
  } finally {
    capture?.close();
    server.close();
  }
});

/** A full collection, whatever flags the runner gave this process. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Our packet sockets: /proc/net/packet's inodes that are open as fds of this process. */
function openPacketSockets(): number {
  const inodes = new Set(readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).pop()));
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      return m !== null && inodes.has(m[1]);
    } catch {
      return false; // closed while we looked
    }
  }).length;
}

// The `pcap` package this addon replaced kept a closed handle's socket open until another
// packet came, and freed its libuv poll handle with the garbage-collected session while libuv
// still linked it (glibc aborted the tapper). So: many handles, opened and closed on a quiet
// filter, collected, with sockets made and closed around them, leave no socket and no damage.
test('closed handles free their socket at once, and collected ones leave libuv sound', async (t) => {
  if (skipUnless(t, root, captureAddon)) return;
  const before = openPacketSockets();
  for (let round = 0; round < 5; round++) {
    const handles = Array.from({ length: 20 }, () => openLiveCapture({ device: 'lo', filter: 'udp port 9 and udp[8:4] = 1', bufferSize: 64 * 1024 }, () => {}));
    assert.equal(openPacketSockets(), before + 20);
    for (const h of handles) h.close();
    assert.equal(openPacketSockets(), before, 'close() released every socket');
    handles.length = 0;
    // Collect the closed handles, then churn libuv's handle queue with sockets and timers.
    collectGarbage();
    await new Promise((r) => setImmediate(r));
    const server = http.createServer((_, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve, reject) => http.get({ host: '127.0.0.1', port, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject));
    }
    await new Promise((r) => server.close(r));
  }
  assert.equal(openPacketSockets(), before);
});

// Mesh capture's building block: a handle opened inside another network namespace captures
// that namespace's loopback, not the process's, and the process stays where it was.
test('a handle opened in another network namespace captures there, and the process stays home', async (t) => {
  if (skipUnless(t, root, captureAddon, tool('python3'))) return;
  const netns = `tapcap-${process.pid}`;
  const inNetns = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args]);
  const sendUdp = (text: string) => `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(3): s.sendto(b"${text}", ("127.0.0.1", 9999))`;
  const ownNetns = () => readlinkSync('/proc/thread-self/ns/net');
  execFileSync('ip', ['netns', 'add', netns]);
  let capture: ReturnType<typeof openLiveCapture> | undefined;
  try {
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const home = ownNetns();
    const seen: string[] = [];
    const decoder = new PacketDecoder(new Stats());
    capture = openLiveCapture({ device: 'lo', filter: 'udp port 9999', netns: `/run/netns/${netns}` }, (frame) => {
      const packet = decoder.decode(frame);
      if (packet !== null) seen.push(packet.payload.toString('latin1'));
    });
    assert.equal(ownNetns(), home, 'the thread came back');
    execFileSync('python3', ['-c', sendUdp('on-the-host')]);
    inNetns('python3', '-c', sendUdp('in-the-pod'));
    for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['in-the-pod', 'in-the-pod', 'in-the-pod']);
    assert.throws(() => openLiveCapture({ device: 'lo', filter: '', netns: '/run/netns/no-such-namespace' }, () => {}), /no-such-namespace: No such file or directory/);
    assert.equal(ownNetns(), home);
  } finally {
    capture?.close();
    execFileSync('ip', ['netns', 'del', netns]);
  }
});
