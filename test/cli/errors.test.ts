// The command line as a new user meets it: each mistake gives one line on stderr that names
// the problem, nothing on stdout, and the exit code docs/exit-codes.md lists; --help and
// --version answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { runCli, repoRoot } from '../helpers/cli.js';
import { root, skipUnless } from '../helpers/requirements.js';

const capture = join(repoRoot, 'testdata/http1/ethernet-mixed.pcap');

async function oneLine(args: string[], code: number, message: string | RegExp, stdin?: Buffer): Promise<void> {
  const r = await runCli(args, stdin ? { stdin } : {});
  const what = `kubectl tap ${args.join(' ')}`;
  assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: stdout`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  if (typeof message === 'string') assert.equal(lines[0], `kubectl tap: ${message}`, what);
  else assert.match(lines[0]!, message, what);
  assert.doesNotMatch(r.stderr, /see --help.*see/, `${what}: says "see --help" twice`);
}

test('read with a directory, an empty name or no file at all: usage errors (2) that say so', async () => {
  await oneLine(['read', 'testdata'], 2, 'testdata: is a directory; give a pcap or pcapng file');
  await oneLine(['read', ''], 2, 'read needs a capture file, not an empty name: kubectl tap read FILE (or - for stdin)');
  await oneLine(['read'], 2, 'read needs a capture file: kubectl tap read FILE (a pcap or pcapng file, or - for stdin)');
  await oneLine(['read', '/nonexistent.pcap'], 2, '/nonexistent.pcap: no such file');
  await oneLine(['read', capture, 'extra'], 2, `unexpected argument "extra" for read; see 'kubectl tap read --help'`);
});

test('a file that is not a capture is named in the error (exit 1), from a path or from stdin', async () => {
  await oneLine(['read', '/etc/passwd'], 1, '/etc/passwd: not a pcap or pcapng file at byte offset 0');
  await oneLine(['read', '-'], 1, 'stdin: not a pcap or pcapng file at byte offset 0', Buffer.from('hello, not packets\n'));
});

test('an unreadable file: permission denied, exit 2', async (t) => {
  if (skipUnless(t, root)) return; // runs the CLI as nobody on a file only root may read
  const dir = mkdtempSync(join(tmpdir(), 'tap-cli-perm-'));
  try {
    const file = join(dir, 'secret.pcap');
    writeFileSync(file, 'x');
    chmodSync(file, 0o600);
    chmodSync(dir, 0o755);
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(repoRoot, 'dist/kubectl-tap'), 'read', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `kubectl tap: ${file}: permission denied\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown options and commands: one line, exit 2, "see --help" once', async () => {
  await oneLine(['--bogus'], 2, "unknown option --bogus; see 'kubectl tap --help'");
  await oneLine(['read', capture, '--bogus'], 2, "unknown option --bogus; see 'kubectl tap read --help'");
  await oneLine(['read', capture, '--max-body', 'lots'], 2, '--max-body must be a size like 65536, 64KiB or 1MiB, not "lots"');
  // Without a subcommand, the first word is the live session's pod regex.
  await oneLine(['reed', capture], 2, 'unknown command "reed": did you mean read? (the commands are read, clean, manifests, version)');
  await oneLine(['cart', 'frontend'], 2, "unexpected argument \"frontend\": kubectl tap takes one POD_REGEX or TYPE/NAME (the commands are read, clean, manifests, version); see 'kubectl tap --help'");
});

test('--version and the version command print the package version; version says plainly when no cluster can be asked, and exits 0', async () => {
  // --version is the version alone; the version command also names the default tapper image.
  const local = `kubectl-tap ${pkg.version}\ntapper image kubectl-tap/tapper:${pkg.version}\n`;
  const dir = mkdtempSync(join(tmpdir(), 'tap-version-'));
  try {
    // A cluster nothing listens for: port 1 of this host refuses at once.
    const unreachable = join(dir, 'kubeconfig');
    writeFileSync(unreachable, [
      'apiVersion: v1', 'kind: Config', 'current-context: gone',
      'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: gone, context: {cluster: gone, user: u}}]', '',
    ].join('\n'));
    const expected: [string[], string][] = [
      [['--version'], `kubectl-tap ${pkg.version}\n`],
      [['version', '--client'], local],
      [['version', '--kubeconfig', join(dir, 'none')], `${local}cluster: not asked: --kubeconfig ${join(dir, 'none')}: no such file\n`],
    ];
    for (const [args, stdout] of expected) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, stdout);
      assert.equal(r.stderr, '');
    }
    const r = await runCli(['version', '--kubeconfig', unreachable]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${local}cluster gone \\(https://127\\.0\\.0\\.1:1\\): not asked: unreachable: .*ECONNREFUSED.*\n$`));
    const json = await runCli(['version', '-o', 'json', '--kubeconfig', unreachable]);
    const info = JSON.parse(json.stdout);
    assert.equal(info.version, pkg.version);
    assert.equal(info.tapperImage, `kubectl-tap/tapper:${pkg.version}`);
    assert.equal(info.cluster.context, 'gone');
    assert.match(info.cluster.error, /^unreachable: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help lists the exit codes; read --help shows whole example commands, tcpdump with -U', async () => {
  const main = await runCli(['--help']);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /Exit codes:\n  0  success.*\n  1  error.*\n  2  usage error.*\n  3 .*\n  4 .*\n  5 /);
  assert.equal(main.stdout.split('Exit codes:').length, 2, 'the exit codes are listed once');
  const read = await runCli(['read', '--help']);
  assert.equal(read.code, 0);
  const lines = read.stdout.split('\n');
  for (const example of ['kubectl tap read capture.pcapng', 'tcpdump -i any -U -w - | kubectl tap read - -o summary', "kubectl tap read capture.pcap -f 'response.status >= 500'"]) {
    assert.ok(lines.includes(`  ${example}`), `read --help lacks the whole line "  ${example}":\n${read.stdout}`);
  }
  assert.match(read.stdout, /Exit codes:\n  0  success.*\n  1  error.*\n  2  usage error/);
  assert.equal(read.stdout.split('Exit codes:').length, 2, 'the exit codes are listed once');
});
