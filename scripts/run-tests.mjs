// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx): the spec
// report on the terminal, a TAP copy read back for the closing lines: the skipped tests and
// why, then `N passed, N failed, N skipped in T`, which CI and people read alike.
//
// Usage: node scripts/run-tests.mjs [substring filter... | file.ts...]
//   (a filter picks the test/**/*.test.ts whose path contains it; a path to a .ts file runs it)
// Environment:
//   TEST_JOBS             test files run at once (default: the machine's cores)
//   TEST_TIMEOUT_MS       per test, for tests without a `timeout` of their own (default 300000;
//                         scripts/test-guard.mjs applies it, and fails a file left hanging open)
//   TEST_FILE_TIMEOUT_MS  per file, the last resort (default 1500000)
//   TEST_STRICT           1: any skipped test fails the run (a missing tool or missing root is
//                         a broken CI machine, not a reason to pass); 0: skips stay loud
//                         warnings. Default: on when CI is set (CI=true) and we run as root,
//                         which is how CI runs `make test` after installing every package.
//   TEST_CLUSTER          0: do not start the shared simulated cluster (see below)
// Files that import test/helpers/shared-cluster.ts share one simulated cluster: the runner
// brings it up before the run when any selected file needs it, and down after.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { strictSkips } from './test-strict.mjs';

const started = Date.now();

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith('.ts') && existsSync(a));
const filters = args.filter((a) => !explicit.includes(a));
const files = [
  ...explicit,
  ...(explicit.length > 0 && filters.length === 0 ? [] : find('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))),
].sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const jobs = Number(process.env.TEST_JOBS ?? availableParallelism());
const fileTimeout = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 1_500_000);
const strict = strictSkips();

const cluster = await startSharedCluster(files);
const tapDir = mkdtempSync(join(tmpdir(), 'kubectl-tap-tests-'));
const tapFile = join(tapDir, 'report.tap');
let status;
try {
  status = await run(process.execPath, [
    '--import', 'tsx', '--import', './scripts/test-guard.mjs',
    '--test', `--test-concurrency=${jobs}`, `--test-timeout=${fileTimeout}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ], { ...cluster.env, TEST_STRICT: strict ? '1' : '0' });
} finally {
  await cluster.stop();
}

const tap = readFileSync(tapFile, 'utf8');
rmSync(tapDir, { recursive: true, force: true });
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const failed = count('fail') + count('cancelled');
const skipped = [...tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map(([, name, why]) => `${name}: ${why || 'no reason given'}`);
if (skipped.length > 0) {
  console.log(`\n${skipped.length} skipped${strict ? ', which fails the run (TEST_STRICT: CI as root must run everything)' : ''}:`);
  for (const line of skipped) console.log(`  - ${line}`);
}
// The failures again, one line each with where and why, last: a CI log's tail shows them.
for (const line of failures(tap)) console.log(line);
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`\n${count('pass')} passed, ${failed} failed, ${count('skipped')} skipped in ${Math.floor(seconds / 60)}m ${seconds % 60}s (${files.length} files, ${jobs} at a time)`);
process.exit(status !== 0 ? status || 1 : strict && skipped.length > 0 ? 1 : 0);

/** `FAILED name (test file:line): first line of the error` for each failed test, suites left out. */
function failures(report) {
  const lines = report.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const failed = /^\s*not ok \d+ - (.*?)(?: # .*)?$/.exec(lines[i]);
    if (!failed) continue;
    const block = [];
    for (let j = i + 1; j < lines.length && !/^\s*(?:not )?ok \d+ /.test(lines[j]) && !/^\s*# Subtest/.test(lines[j]); j++) block.push(lines[j]);
    const text = block.join('\n');
    const errorAt = block.findIndex((l) => /^\s*error: /.test(l));
    let error = errorAt < 0 ? '' : block[errorAt].replace(/^\s*error: ['|>-]*\s*/, '').replace(/'$/, '');
    if (error === '' && errorAt >= 0) error = (block[errorAt + 1] ?? '').trim();
    if (/^\d+ subtests? failed$/.test(error)) continue;
    // The test's own frame: the guard (scripts/test-guard.mjs) is where every test is registered.
    const where = /(test\/[^\s:'()]+\.ts:\d+)/.exec(text)?.[1] ?? '?';
    out.push(`FAILED ${failed[1]} (${where}): ${error.slice(0, 300)}`);
  }
  return out.length > 0 ? ['', `${out.length} failed:`, ...out] : [];
}

function run(cmd, args, env) {
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT is set when this runner itself runs inside a test (the runner's own
    // tests): left in, node --test would report to that parent instead of to our reporters.
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...inherited, ...env } });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** One simulated cluster for every selected file that asks for it (by importing the helper). */
async function startSharedCluster(selected) {
  const none = { env: {}, stop: async () => {} };
  const users = selected.filter((f) => /helpers\/shared-cluster(\.js)?['"]/.test(readFileSync(f, 'utf8')));
  if (users.length === 0 || process.env.TEST_CLUSTER === '0') return none;
  const { bringUpSharedCluster } = await import('./test-cluster.mjs');
  return bringUpSharedCluster(users);
}
