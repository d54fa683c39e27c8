// CI mode on `kubectl tap read`: every exit code on real captures, the first event deciding,
// an error winning, the end-of-run summary and --summary-json, --duration and SIGTERM on a
// live pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, ensureBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

const capture = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
const expected = JSON.parse(readFileSync(join(repoRoot, 'testdata/http1/ethernet-mixed.expected.json'), 'utf8'));
/** HTTP/2 with two capture gaps (tcp.gaps=2): the first entries come before the first gap. */
const lossy = join(repoRoot, 'testdata/http2/node-lossy.pcap');
const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);
// Entries as parsed JSON, checked against the schema (the tests read protocol fields freely).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const entriesOf = (stdout: string): any[] => {
  const entries: unknown[] = lines(stdout).map((l) => JSON.parse(l));
  assertValidEntries(entries);
  return entries;
};

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tap-ci-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('--wait-for: exit 0 at the first match, entries up to it written; exit 3 when none matched by the end of the capture', async () => {
  const hit = await runCli(['read', capture, '-q', '--wait-for', 'request.path = "/boom"']);
  assert.equal(hit.code, 0, hit.stderr);
  const entries = entriesOf(hit.stdout);
  assert.equal(entries.at(-1).request.path, '/boom', 'the session ends on the matching entry');
  assert.ok(entries.length < expected.transactions);
  const miss = await runCli(['read', capture, '--wait-for', 'request.path = "/never-called"']);
  assert.equal(miss.code, 3, miss.stderr);
  assert.equal(entriesOf(miss.stdout).length, expected.transactions);
  assert.match(miss.stderr, /--wait-for never matched \(session ended: input\)/);
});

test('--fail-on: exit 4 at the first match; one entry matching both --fail-on and --wait-for fails', async () => {
  const r = await runCli(['read', capture, '--fail-on', 'response.status >= 500']);
  assert.equal(r.code, 4, r.stderr);
  const entries = entriesOf(r.stdout);
  assert.ok(entries.at(-1).response.status >= 500);
  assert.equal(entries.filter((e) => e.response?.status >= 500).length, 1);
  assert.match(r.stderr, /--fail-on matched: GET \/boom -> 500 \(entry [0-9a-f]+-\w+\)/);
  const both = await runCli(['read', capture, '-q', '--fail-on', 'request.path = "/boom"', '--wait-for', 'request.path = "/boom"']);
  assert.equal(both.code, 4);
  const none = await runCli(['read', capture, '-q', '--fail-on', 'response.status = 418']);
  assert.equal(none.code, 0, 'no match: success');
});

test('the first event decides: a --wait-for match before a --fail-on one is 0, after it 4', async () => {
  const waitFirst = await runCli(['read', capture, '-q', '--wait-for', 'request.path = "/api/login"', '--fail-on', 'response.status >= 500']);
  assert.equal(waitFirst.code, 0, waitFirst.stderr);
  // /api/orders is called after /boom: the failure came first.
  const failFirst = await runCli(['read', capture, '-q', '--wait-for', 'request.path = "/api/orders"', '--fail-on', 'response.status >= 500']);
  assert.equal(failFirst.code, 4);
  assert.equal(entriesOf(failFirst.stdout).at(-1).request.path, '/boom');
  const alone = await runCli(['read', capture, '-q', '--wait-for', 'request.path = "/api/orders"']);
  assert.equal(alone.code, 0, 'and it does match when nothing fails before it');
});

test('--limit N: exactly N entries that passed the filter, then the session ends (exit 3 if --wait-for did not match)', async () => {
  const r = await runCli(['read', capture, '-q', '--limit', '5', '-f', 'request.method = "GET"']);
  assert.equal(r.code, 0, r.stderr);
  const entries = entriesOf(r.stdout);
  assert.equal(entries.length, 5);
  assert.ok(entries.every((e) => e.request.method === 'GET'));
  const unmatched = await runCli(['read', capture, '--limit', '2', '--wait-for', 'response.status = 500']);
  assert.equal(unmatched.code, 3);
  assert.equal(entriesOf(unmatched.stdout).length, 2);
  assert.match(unmatched.stderr, /session ended: limit/);
});

test('--strict: exit 5 on a capture with gaps, at the first loss; without it 0, the losses on stderr; a clean capture passes', async () => {
  const loose = await runCli(['read', lossy]);
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(loose.stderr, /losses: tcp\.gapBytes=\d+ tcp\.gaps=2/);
  const all = entriesOf(loose.stdout);
  const strict = await runCli(['read', lossy, '--strict']);
  assert.equal(strict.code, 5, strict.stderr);
  assert.match(strict.stderr, /--strict: the session lost data/);
  const before = entriesOf(strict.stdout);
  assert.ok(before.length > 0 && before.length < all.length, `${before.length} of ${all.length} entries came before the first loss`);
  const clean = await runCli(['read', capture, '--strict']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stderr, /losses: none/);
  // First event: a --fail-on match before the first gap is 4; a --wait-for match after it is 5.
  const failBefore = await runCli(['read', lossy, '-q', '--strict', '--fail-on', `request.path = "${before[0].request.path}"`]);
  assert.equal(failBefore.code, 4);
  const last = all.at(-1);
  const waitAfter = await runCli(['read', lossy, '-q', '--strict', '--wait-for', `request.path = "${last.request.path}" and timestamp = "${last.timestamp}"`]);
  assert.equal(waitAfter.code, 5);
});

test('an error wins: a truncated capture is exit 1 whatever matched before it, from a file or from stdin redirected from one', async () => {
  const { dir, done } = tempDir();
  try {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(capture).subarray(0, 20000));
    for (const flags of [['--fail-on', 'true'], ['--wait-for', 'true'], ['--limit', '1'], ['--wait-for', 'false']]) {
      const r = await runCli(['read', cut, ...flags]);
      assert.equal(r.code, 1, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^kubectl tap: capture ends in the middle of a record at byte offset \d+\n$/);
      assert.ok(entriesOf(r.stdout).length >= 1);
    }
    const viaShell = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['-c', `"${cliPath}" read - -q --fail-on true < "${cut}" > /dev/null 2>&1`]);
      child.on('close', resolve);
    });
    assert.equal(viaShell, 1);
  } finally {
    done();
  }
});

test('usage errors in CI flags exit 2 before reading: a bad expression names its flag, --limit 0, a bad --duration', async () => {
  const bad = await runCli(['read', '-', '--wait-for', 'response.status = = 1'], { stdin: 'keep-open', timeoutMs: 15000 });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^kubectl tap: invalid --wait-for at position \d+/);
  const badFail = await runCli(['read', '-', '--fail-on', '(('], { stdin: 'keep-open', timeoutMs: 15000 });
  assert.equal(badFail.code, 2);
  assert.match(badFail.stderr, /invalid --fail-on/);
  for (const args of [['--limit', '0'], ['--limit', 'many'], ['--duration', 'soon'], ['--duration', '0s']]) {
    const r = await runCli(['read', '-', ...args], { stdin: 'keep-open', timeoutMs: 15000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
  }
});

test('the end-of-run summary: per protocol, status class, edge and losses on stderr; the same in --summary-json', async () => {
  const { dir, done } = tempDir();
  try {
    const file = join(dir, 'summary.json');
    const r = await runCli(['read', join(repoRoot, 'testdata/mixed/mixed.pcap'), '--summary-json', file, '-f', 'protocol != "tls"']);
    assert.equal(r.code, 0, r.stderr);
    const entries = entriesOf(r.stdout);
    const s = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(s.reported, entries.length);
    assert.equal(s.entries, entries.length + 1, 'the TLS handshake was filtered out');
    const byProtocol: Record<string, number> = {};
    for (const e of entries) byProtocol[e.protocol] = (byProtocol[e.protocol] ?? 0) + 1;
    assert.deepEqual(s.byProtocol, byProtocol);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    assert.equal(sum(s.statusClasses), entries.length);
    assert.equal(s.edges.reduce((n: number, e: { calls: number }) => n + e.calls, 0), entries.length);
    assert.deepEqual(s.outcome, { verdict: 'ok', reason: 'input', exitCode: 0 });
    assert.deepEqual(s.losses, {});
    assert.match(r.stderr, /^kubectl tap: \d+ frames, \d+ entries, 1 filtered out$/m);
    for (const [protocol, n] of Object.entries(byProtocol)) assert.match(r.stderr, new RegExp(`protocols: .*${protocol} ${n}`));
    assert.match(r.stderr, /^kubectl tap: status: .*http 2xx 2/m);
    assert.match(r.stderr, /^kubectl tap: edge \S+ -> \S+ kafka: 4 calls, 0 errors, p50 [\d.]+ ms, p99 [\d.]+ ms$/m);
    assert.match(r.stderr, /^kubectl tap: losses: none$/m);
  } finally {
    done();
  }
});

/** Runs read - with the capture written to a pipe that stays open: a live source. */
function livePipe(args: string[], onStdout?: (stdout: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  ensureBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(cliPath, ['read', '-', ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`read - ${args.join(' ')} did not end: ${stderr}`));
    }, 20000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.write(readFileSync(capture)); // and never ended: tcpdump still running
  });
}

test('a SIGTERM from a CI runner during --wait-for ends the session: exit 3, summary and --summary-json written', async () => {
  const { dir, done } = tempDir();
  try {
    const file = join(dir, 's.json');
    let sent = false;
    const r = await livePipe(['--wait-for', 'request.path = "/never-called"', '--summary-json', file], (stdout, child) => {
      // Every call of the capture has been reported: the session now waits on an idle pipe.
      if (!sent && lines(stdout).length === expected.transactions) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(entriesOf(r.stdout).length, expected.transactions);
    assert.match(r.stderr, /--wait-for never matched \(session ended: signal\)/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).outcome, { verdict: 'waitForUnmatched', reason: 'signal', exitCode: 3 });
    // The match arrives on the live pipe: exit 0 without waiting for the pipe to end.
    const hit = await livePipe(['-q', '--wait-for', 'request.path = "/boom"']);
    assert.equal(hit.code, 0, hit.stderr);
    assert.equal(entriesOf(hit.stdout).at(-1).request.path, '/boom');
    // SIGTERM without --wait-for: the session ended as asked, exit 0.
    let sent2 = false;
    const plain = await livePipe(['-q'], (stdout, child) => {
      if (!sent2 && lines(stdout).length === expected.transactions) {
        sent2 = true;
        child.kill('SIGTERM');
      }
    });
    assert.equal(plain.code, 0, plain.stderr);
  } finally {
    done();
  }
});

test('--duration ends a session on a live pipe: exit 0, or 3 with an unmatched --wait-for', async () => {
  const r = await livePipe(['--duration', '1s']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(entriesOf(r.stdout).length, expected.transactions);
  const w = await livePipe(['--duration', '1s', '--wait-for', 'response.status = 418']);
  assert.equal(w.code, 3, w.stderr);
  assert.match(w.stderr, /session ended: duration/);
});
