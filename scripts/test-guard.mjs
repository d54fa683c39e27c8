// Loaded into every test file's process by scripts/run-tests.mjs (node --import), so that a
// hang fails one test instead of stopping the whole run:
//   - every test() / it() without a `timeout` option of its own gets TEST_TIMEOUT_MS (node 20's
//     --test-timeout only bounds a whole file, and says nothing about which test hung);
//   - once the file's tests and its root after() hooks are done, the process must exit within
//     EXIT_GRACE_MS; otherwise something was left open (a server, a socket, a child process):
//     the handles are named on stderr and the file fails.
// Both are done through node:test's public exports, re-synchronised into the ESM bindings
// (one cost: node reports a failing test's `location` as this file's line).
import { createRequire, syncBuiltinESMExports } from 'node:module';

const nodeTest = createRequire(import.meta.url)('node:test');
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);
const EXIT_GRACE_MS = Number(process.env.TEST_EXIT_GRACE_MS ?? 10_000);

/** test(name?, options?, fn?) with options.timeout defaulted. */
function withDefaultTimeout(register) {
  const wrapped = function (...args) {
    watchForExit();
    const at = args.findIndex((a) => typeof a === 'object' && a !== null);
    if (at >= 0) {
      if (args[at].timeout === undefined) args[at] = { ...args[at], timeout: TEST_TIMEOUT_MS };
    } else {
      const fnAt = args.findIndex((a) => typeof a === 'function');
      args.splice(fnAt >= 0 ? fnAt : args.length, 0, { timeout: TEST_TIMEOUT_MS });
    }
    return register.apply(this, args);
  };
  return Object.assign(wrapped, register); // test.skip, test.todo, test.only stay as they are
}

let watchRegistered = false;
let rootHooksStarted = false;
let exitTimer;

function armExitWatch() {
  clearTimeout(exitTimer);
  exitTimer = setTimeout(() => {
    const std = new Set([process.stdin, process.stdout, process.stderr]);
    const open = process._getActiveHandles().filter((h) => !std.has(h)).map((h) => h?.constructor?.name ?? typeof h);
    const counts = Object.entries(open.reduce((m, n) => ({ ...m, [n]: (m[n] ?? 0) + 1 }), {}));
    process.stderr.write(
      `test-guard: ${process.argv[1]} did not exit ${EXIT_GRACE_MS / 1000} s after its last test; ` +
        `still open: ${counts.map(([n, c]) => `${c} ${n}`).join(', ') || 'nothing visible (a pending child or timer?)'}. ` +
        'Close servers, sockets and child processes in finally/after.\n',
    );
    process.exit(1);
  }, EXIT_GRACE_MS);
  exitTimer.unref(); // never what keeps the process alive
}

/** after() hooks of the file itself run after ours: the watch waits for each to finish. */
function trackedAfter(register) {
  return function (fn, ...rest) {
    if (typeof fn !== 'function' || fn.length > 1) return register.call(this, fn, ...rest); // done-callback style: leave as is
    return register.call(
      this,
      async function (...args) {
        if (rootHooksStarted) clearTimeout(exitTimer);
        try {
          return await fn.apply(this, args);
        } finally {
          if (rootHooksStarted) armExitWatch();
        }
      },
      ...rest,
    );
  };
}

nodeTest.test = withDefaultTimeout(nodeTest.test);
nodeTest.it = withDefaultTimeout(nodeTest.it);
nodeTest.after = trackedAfter(nodeTest.after);
syncBuiltinESMExports();

/**
 * Registered by the file's first test() (registering from here, before the file has loaded,
 * would start the root test early): when it runs, the tests are done, and the file is done
 * once the root after() hooks still to come (tracked above) are.
 */
function watchForExit() {
  if (watchRegistered) return;
  watchRegistered = true;
  nodeTest.after(() => {
    rootHooksStarted = true;
    armExitWatch();
  });
}
