// Starts the tapper daemon in a node namespace the way a test asks for it: as a process
// (`ip netns exec NODE node dist/tapper.js ...`, what test/tapper/ does), or, when
// TAPPER_RUNTIME=container, as the image this checkout built, in that namespace with only
// NET_RAW and a read-only root, the token file mounted read-only at the same path. The child is
// `podman run` attached: its output is the daemon's, SIGTERM reaches the daemon (podman passes
// signals on), its exit is the daemon's; the container is removed when it ends, even by SIGKILL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CONTAINERS_CONF } from '../cluster/controllers/container-runtime.js';
import { CHECKOUT_IMAGE } from './podman.js';

export const tapperRuntime = process.env.TAPPER_RUNTIME === 'container' ? 'container' : 'process';

export function launchTapper(netns: string, tokenFile: string, args: string[], asProcess: () => ChildProcess): ChildProcess {
  if (tapperRuntime === 'process') return asProcess();
  const name = `tapper-test-${process.pid}-${Date.now().toString(36)}`;
  const env = { ...process.env, CONTAINERS_CONF };
  const child = spawn('podman', [
    'run', '--rm', '--pull', 'never', '--name', name, '--log-driver', 'none', '--network', `ns:/run/netns/${netns}`,
    '--cap-drop', 'ALL', '--cap-add', 'NET_RAW', '--read-only', '--read-only-tmpfs=false', '--security-opt', 'no-new-privileges',
    '--volume', `${tokenFile}:${tokenFile}:ro`, CHECKOUT_IMAGE, ...args,
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('exit', () => spawnSync('podman', ['rm', '--force', '--ignore', '--time', '0', name], { env, stdio: 'ignore' }));
  return child;
}
