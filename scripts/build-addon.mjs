// Compiles native/capture.c (the tapper's libpcap addon) into a Node-API module. Node-API needs
// no linking against Node, only its headers, so a plain C compiler does it: no node-gyp, no
// Python, nothing downloaded. Rebuilt only when the source is newer than the module.
//
// Without a compiler or libpcap's headers (a machine where `make` could not install
// libpcap-dev) the CLI still builds; the tapper's live capture then fails at start with one line
// naming the missing module, and the live-capture tests skip loudly (fail in CI).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const SOURCE = 'native/capture.c';

/** The directory with node_api.h: beside this Node (a tarball's include/node), or NODE_INCLUDE. */
export function nodeIncludeDir() {
  return process.env.NODE_INCLUDE ?? join(dirname(dirname(process.execPath)), 'include', 'node');
}

export function buildCaptureAddon(output, { compiler = process.env.CC ?? 'cc', include = nodeIncludeDir() } = {}) {
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(SOURCE).mtimeMs) return;
  mkdirSync(dirname(output), { recursive: true });
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-I', include, SOURCE, '-lpcap', '-o', output];
  try {
    execFileSync(compiler, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  } catch (err) {
    const detail = err.stderr?.toString().trim().split('\n')[0] ?? err.message;
    console.error(`WARNING: the capture addon was not built (${compiler} ${SOURCE}: ${detail}); live capture in the tapper will not work`);
  }
}
