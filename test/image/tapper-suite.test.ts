// The tapper daemon's own suite (test/tapper/tapper.test.ts: HTTP, gRPC, Redis and DNS between
// pods, the token, filters, DNAT, several interfaces, target changes, ownership, a stalled
// consumer, SIGTERM), run once more against the image: the daemon as a container with only
// NET_RAW and a read-only root (test/image/tapper-launch.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';
import { CHECKOUT_IMAGE, imageTestsSkip, readFromImage } from './podman.js';

const skip = imageTestsSkip();
if (skip) process.stderr.write(`SKIPPING test/image/tapper-suite.test.ts: ${skip}\n`);
else {
  // a stale image would fail the suite's checks for reasons of yesterday's daemon
  if (!readFromImage(CHECKOUT_IMAGE, 'app/tapper.js')?.equals(readFileSync(join(repoRoot, 'dist', 'tapper.js')))) {
    throw new Error(`${CHECKOUT_IMAGE} does not hold today's dist/tapper.js: run \`make image\``);
  }
  process.env.TAPPER_RUNTIME = 'container';
  await import('../tapper/tapper.test.js');
}
