// The dispatcher on connections no dissector can claim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entriesFromCapture } from '../helpers/engine.js';
import { repoRoot } from '../helpers/cli.js';

test('readiness-probe connections: no entries, each counted once as unclaimed', async () => {
  // The server speaks first (HTTP/2 SETTINGS) and the client closes without a byte: the
  // detector can only decide at the connection's end, which must count it once, not twice.
  const { entries, stats } = await entriesFromCapture(`${repoRoot}testdata/dispatch/probe.pcap`);
  assert.equal(entries.length, 0);
  assert.equal(stats['tcp.connections'], 3);
  assert.equal(stats['engine.unclaimedConnections'], 3);
  assert.equal(stats['engine.unclaimedBytes'], 27, 'three 9-byte SETTINGS frames');
});
