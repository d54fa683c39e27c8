// The documented `read` options through the built CLI, as users give them: every output is
// checked against docs/entry.schema.json, with the defaults and with each option changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Entry } from '../../src/entry.js';
import { runCli, repoRoot } from '../helpers/cli.js';
import { skipUnless, tool } from '../helpers/requirements.js';
import { assertValidEntries } from '../helpers/schema.js';

const http = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
const grpc = join(repoRoot, 'testdata/grpc/calls.pcap');
const protos = join(repoRoot, 'testdata/grpc/protos');
type AnyRecord = Record<string, any>;

async function entries(args: string[]): Promise<AnyRecord[]> {
  const r = await runCli(['read', ...args, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const list = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
  assertValidEntries(list);
  assert.ok(list.length > 0, `no entries from ${args.join(' ')}`);
  return list as AnyRecord[];
}

const biggest = (list: AnyRecord[]) => list.reduce((a, b) => ((b.response?.bodySize ?? 0) > (a.response?.bodySize ?? 0) ? b : a));

test('--max-body takes sizes with suffixes: bytes, k/KiB (1024), kb (1000), M/MiB', async () => {
  const full = biggest(await entries([http]));
  const size = full.response.bodySize as number;
  assert.equal(size, 200 * 1024, 'the capture has a 200 KiB text body');
  for (const [flag, bytes] of [['100', 100], ['1KiB', 1024], ['2k', 2048], ['1kb', 1000], ['64KiB', 65536], ['1M', 1024 ** 2], ['1MiB', 1024 ** 2]] as const) {
    const cut = biggest(await entries([http, '--max-body', flag]));
    assert.equal(cut.response.bodySize, size, `${flag}: the size stays exact`);
    assert.equal(cut.response.body.length, Math.min(bytes, size), `--max-body ${flag}`);
    assert.equal(cut.response.bodyTruncated === true, bytes < size, `--max-body ${flag}: truncation flagged`);
  }
});

test('--redact-header redacts another header (any case), on top of the defaults; --no-redact shows all', async () => {
  const plain = await entries([http]);
  const withType = plain.filter((e) => e.request.headers?.['content-type'] !== undefined);
  assert.ok(withType.length > 0 && withType.every((e) => e.request.headers['content-type'] !== '[REDACTED]'));
  const redacted = await entries([http, '--redact-header', 'Content-Type', '--redact-header', 'keep-alive']);
  for (const e of redacted) {
    for (const headers of [e.request.headers, e.response?.headers]) {
      if (headers?.['content-type'] !== undefined) assert.equal(headers['content-type'], '[REDACTED]', e.summary);
      if (headers?.['keep-alive'] !== undefined) assert.equal(headers['keep-alive'], '[REDACTED]', e.summary);
    }
  }
  const login = (list: AnyRecord[]) => list.find((e) => e.request.path === '/api/login')!;
  assert.equal(login(redacted).request.headers.authorization, '[REDACTED]', 'the default redactions stay');
  const clear = await entries([http, '--no-redact', '--redact-header', 'content-type']);
  assert.notEqual(login(clear).request.headers.authorization, '[REDACTED]');
});

test('--proto names gRPC messages; without it they are field-number trees', async () => {
  const named = await entries([grpc, '--proto', protos]);
  assert.equal(named[0]!.request.messages[0].type, 'shop.v1.AddItemRequest');
  assert.deepEqual(named[0]!.request.messages[0].value, { user: 'alice', item: { sku: 'sku-1', quantity: 3, price: { currency: 'EUR', units: '420' } } });
  const trees = await entries([grpc]);
  assert.equal(trees[0]!.request.messages[0].type, undefined);
  assert.equal(trees[0]!.request.messages[0].value[1], 'alice');
  // Repeatable: a file and a folder given together load once each.
  const twice = await entries([grpc, '--proto', protos, '--proto', join(protos, 'shop/v1/cart.proto')]);
  assert.equal(twice[0]!.request.messages[0].type, 'shop.v1.AddItemRequest');
});

test('--max-messages keeps the first N messages of a stream and counts them all', async () => {
  const list = await entries([grpc, '--max-messages', '2']);
  const watch = list.find((e) => e.request.method === 'WatchCart')!;
  assert.equal(watch.response.messages.length, 2);
  assert.equal(watch.response.messageCount, 5);
  assert.equal(watch.response.messagesTruncated, true);
  const all = (await entries([grpc])).find((e) => e.request.method === 'WatchCart')!;
  assert.equal(all.response.messages.length, 5);
  assert.equal(all.response.messagesTruncated, undefined);
});

test('-o summary is coloured on a terminal and plain in a pipe', async (t) => {
  if (skipUnless(t, tool('script', '--version'))) return;
  const command = `dist/kubectl-tap read ${http} -o summary -q`;
  // script(1) runs the command on a pseudo-terminal, as when a user types it.
  const onTerminal = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
  assert.equal(onTerminal.status, 0, onTerminal.stderr);
  const piped = spawnSync('bash', ['-c', command], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  const esc = '\u001b[';
  assert.ok(!piped.stdout.includes(esc), 'escape codes in a pipe');
  const lines = onTerminal.stdout.split('\r\n').filter(Boolean);
  assert.equal(lines.length, piped.stdout.split('\n').filter(Boolean).length);
  assert.ok(lines.every((l) => l.includes(`${esc}36mhttp `)), 'the protocol column is cyan on a terminal');
  assert.ok(lines.some((l) => l.includes(`${esc}31m`)) && lines.some((l) => l.includes(`${esc}32m`)), 'failures red, successes green');
  // Without the colours the lines are the piped ones.
  assert.deepEqual(lines.map((l) => l.replace(/\u001b\[\d+m/g, '')), piped.stdout.split('\n').filter(Boolean));
});
