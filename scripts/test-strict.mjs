// Whether a skipped test fails the run. CI runs `make test` as root after the Makefile has
// installed every Debian package and node module, so there a test that skips for a missing
// tool or missing root means the machine or the Makefile is broken: the run must fail.
// Anywhere else a skip stays a loud warning. TEST_STRICT=1 / =0 overrides the guess.
export function strictSkips(env = process.env, uid = process.getuid?.()) {
  if (env.TEST_STRICT === '1') return true;
  if (env.TEST_STRICT === '0') return false;
  return isTrue(env.CI) && uid === 0;
}

function isTrue(value) {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
