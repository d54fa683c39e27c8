// Live capture on lo (root only): a real HTTP request to a local node server arrives as
// Ethernet frames that decode to the request's TCP packets.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { LinkType } from '../../src/capture/frame.js';
import { openLiveCapture } from '../../src/capture/live.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { Stats } from '../../src/stats.js';
import { nodeModule, root, skipUnless } from '../helpers/requirements.js';

// The optional `pcap` module (a native addon) is what live capture loads; without it (npm
// install without build tools) the test skips, and fails under TEST_STRICT.
const pcapModule = nodeModule('pcap', () => createRequire(import.meta.url)('pcap'));

test('live capture on lo sees a real HTTP exchange', async (t) => {
  if (skipUnless(t, root, pcapModule)) return;
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
