// `kubectl tap read` as users run it: the built binary, real captures, exit codes, stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, repoRoot } from '../helpers/cli.js';
import { assertValidEntries } from '../helpers/schema.js';

const capture = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');
const expected = JSON.parse(readFileSync(join(repoRoot, 'testdata/http1/ethernet-mixed.expected.json'), 'utf8'));
const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

test('kubectl finds the plugin on PATH and --help answers', { skip: !hasKubectl() && 'kubectl not installed' }, async () => {
  const r = await runCli(['--help'], { viaKubectl: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kubectl tap read <file>/);
});

test('read FILE writes one valid entry a line for every transaction, figures on stderr', async () => {
  const r = await runCli(['read', capture]);
  assert.equal(r.code, 0, r.stderr);
  const entries = lines(r.stdout).map((l) => JSON.parse(l));
  assertValidEntries(entries);
  assert.equal(entries.length, expected.transactions);
  assert.match(r.stderr, new RegExp(`\\d+ frames, ${expected.transactions} entries`));
});

test('read - takes the capture on stdin, with the same entries as from the file', async () => {
  const fromFile = await runCli(['read', capture, '-q']);
  const fromStdin = await runCli(['read', '-', '-q'], { stdin: readFileSync(capture) });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  const strip = (s: string) => lines(s).map((l) => { const e = JSON.parse(l); delete e.id; return e; });
  assert.deepEqual(strip(fromStdin.stdout), strip(fromFile.stdout));
  assert.equal(fromStdin.stderr, '', '--quiet keeps stderr empty');
});

test('--filter keeps only matching entries; -o summary prints one line each', async () => {
  const posts = await runCli(['read', capture, '-q', '--filter', 'request.method = "POST"']);
  assert.equal(posts.code, 0, posts.stderr);
  assert.equal(lines(posts.stdout).length, expected.methods.POST);
  const errors = await runCli(['read', capture, '-q', '-f', 'response.status >= 400 and response.status < 600', '-o', 'summary']);
  const want = Object.entries(expected.statuses as Record<string, number>).filter(([s]) => Number(s) >= 400).reduce((n, [, c]) => n + c, 0);
  const summaryLines = lines(errors.stdout);
  assert.equal(summaryLines.length, want);
  for (const line of summaryLines) assert.match(line, /^\d\d:\d\d:\d\d\.\d{6}\s+http\s+\S+ -> \S+\s+\w+ \S+ -> [45]\d\d\s+[\d.]+ ms$/);
});

test('an invalid filter fails before reading any input: exit 2, one line with the position', async () => {
  const r = await runCli(['read', '-', '--filter', 'request.method = = "GET"'], { stdin: 'keep-open', timeoutMs: 15000 });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /invalid --filter at position \d+/);
});

test('usage errors exit 2 with one line: missing file, unknown flag, bad size', async () => {
  for (const args of [['read', '/nonexistent.pcap'], ['read', capture, '--bogus'], ['read', capture, '--max-body', 'lots'], ['nope']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});

test('a truncated capture: entries found so far, then one error line with the byte offset, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-cli-'));
  try {
    const whole = readFileSync(capture);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = await runCli(['read', cut]);
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /at byte offset \d+/);
    const entries = lines(r.stdout).map((l) => JSON.parse(l));
    assertValidEntries(entries);
    assert.ok(entries.length > 0 && entries.length < expected.transactions, `${entries.length} entries before the cut`);
    const notCapture = join(dir, 'notes.txt');
    writeFileSync(notCapture, 'these are not packets\n'.repeat(10));
    const r2 = await runCli(['read', notCapture]);
    assert.equal(r2.code, 1);
    assert.equal(r2.stderr, `kubectl tap: ${notCapture}: not a pcap or pcapng file at byte offset 0\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('redaction is on by default and --no-redact turns it off', async () => {
  const filter = 'request.path = "/api/login"';
  const redacted = JSON.parse(lines((await runCli(['read', capture, '-q', '-f', filter])).stdout)[0]);
  assert.equal(redacted.request.headers.authorization, '[REDACTED]');
  assert.equal(JSON.parse(redacted.request.body).password, '[REDACTED]');
  const clear = JSON.parse(lines((await runCli(['read', capture, '-q', '-f', filter, '--no-redact'])).stdout)[0]);
  assert.notEqual(clear.request.headers.authorization, '[REDACTED]');
  assert.notEqual(JSON.parse(clear.request.body).password, '[REDACTED]');
});

test('a closed pipe ends output quietly (kubectl tap read | head -1)', () => {
  const r = spawnSync('bash', ['-c', `set -o pipefail; dist/kubectl-tap read ${capture} -q | head -1`], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr); // pipefail: kubectl-tap's own exit status, not head's
  assert.equal(lines(r.stdout).length, 1);
  assert.equal(r.stderr, '');
  // A capture larger than one input chunk: reading stops mid-file when the reader goes, and
  // that must not be reported as a truncated capture.
  const big = join(repoRoot, 'testdata/http1/wrk.pcap');
  const r2 = spawnSync('bash', ['-c', `set -o pipefail; dist/kubectl-tap read ${big} -q | head -1`], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal(lines(r2.stdout).length, 1);
  assert.equal(r2.stderr, '');
});

test('a write error (a full disk) is one line saying the output failed, exit 1, never a capture error', () => {
  for (const quiet of [['-q'], []]) {
    const r = spawnSync('bash', ['-c', `dist/kubectl-tap read ${capture} ${quiet.join(' ')} > /dev/full`], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^kubectl tap: writing the output failed: ENOSPC: no space left on device, write\n$/);
  }
  // Also when the capture is cut short after the output failed: the output failure is what is said.
  const dir = mkdtempSync(join(tmpdir(), 'tap-cli-'));
  try {
    const whole = readFileSync(join(repoRoot, 'testdata/http1/wrk.pcap'));
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    const r = spawnSync('bash', ['-c', `dist/kubectl-tap read ${cut} > /dev/full`], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^kubectl tap: writing the output failed: ENOSPC: no space left on device, write\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function hasKubectl(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
}
