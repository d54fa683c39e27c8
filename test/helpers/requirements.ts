// "Skip unless root / unless this tool is installed", said the same way by every test.
// Outside CI a skip is loud (the runner lists each one with its reason at the end). In CI
// (TEST_STRICT, see scripts/test-strict.mjs: CI=true as root, where `make test` installed
// every package) a skip fails the run: the runner counts skips as failures, and
// skipUnless() fails the test itself, so the reason shows where it happened.
//
//   test('live capture', { skip: unmet(root, tool('tcpdump')) }, async () => { ... });
//   test('agrees with tshark', async (t) => { if (skipUnless(t, tool('tshark'))) return; ... });
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { loadCaptureAddon } from '../../src/capture/live.js';

export interface Need {
  /** Why the test cannot run here, or undefined when the need is met. */
  check(): string | undefined;
}

export const root: Need = {
  check: () => (process.getuid?.() === 0 ? undefined : 'needs root'),
};

const found = new Map<string, boolean>();

/** A program on PATH that answers `name ...versionArgs` with exit 0 (default `--version`). */
export function tool(name: string, ...versionArgs: string[]): Need {
  return {
    check() {
      const key = `${name} ${versionArgs.join(' ')}`;
      if (!found.has(key)) found.set(key, spawnSync(name, versionArgs.length > 0 ? versionArgs : ['--version'], { stdio: 'ignore' }).status === 0);
      return found.get(key) ? undefined : `needs ${name}: not installed (the Makefile's APT_PACKAGES has it; run make test as root)`;
    },
  };
}

export const strict = process.env.TEST_STRICT === '1';

/** The first unmet need's reason, for `{ skip: unmet(...) }`; undefined when all are met. */
export function unmet(...needs: Need[]): string | undefined {
  for (const need of needs) {
    const why = need.check();
    if (why !== undefined) return why;
  }
  return undefined;
}

/**
 * Inside a test: true when it was skipped (return at once). Under TEST_STRICT the test fails
 * instead, naming what is missing.
 */
/** The tapper's capture addon (native/capture.c, built by `make build` with libpcap-dev and cc). */
export const captureAddon: Need = {
  check() {
    try {
      loadCaptureAddon();
      return undefined;
    } catch (err) {
      return `needs the capture addon: ${(err as Error).message.split('\n')[0]}`;
    }
  },
};

export function skipUnless(t: TestContext, ...needs: Need[]): boolean {
  const why = unmet(...needs);
  if (why === undefined) return false;
  if (strict) throw new Error(`${why}; TEST_STRICT is on (CI as root), so this is a failure, not a skip`);
  t.skip(why);
  return true;
}
