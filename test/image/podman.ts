// What the image tests share: podman with the project's containers.conf, the image `make
// image` tags (kubectl-tap/tapper:<package version>, and this checkout's own tag of it), and
// why the tests cannot run here.
// As root with podman installed nothing skips: a missing image is a failure that says
// `make image`, because `make test` builds it first.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTAINERS_CONF, checkoutTag, containerPathUnavailable } from '../cluster/controllers/container-runtime.js';
import { repoRoot } from '../cluster/paths.js';

export const VERSION: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
export const IMAGE = `kubectl-tap/tapper:${VERSION}`;
/** The same image under this checkout's tag: what this checkout built (other checkouts may retag IMAGE). */
export const CHECKOUT_IMAGE = checkoutTag(IMAGE);

export function podman(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', input, env: { ...process.env, CONTAINERS_CONF }, maxBuffer: 64 << 20, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

/** Why image tests skip on this machine (said loudly by the caller), or false. */
export function imageTestsSkip(): string | false {
  const why = containerPathUnavailable();
  return why ? `${why}: the tapper image cannot be built or run here` : false;
}

/** Reads one file of the image without running it (podman image mount). */
export function readFromImage(image: string, path: string): Buffer | undefined {
  const mounted = podman(['image', 'mount', image]);
  if (mounted.code !== 0) throw new Error(`podman image mount ${image}: ${mounted.stderr.trim()} (run \`make image\`)`);
  try {
    return readFileOrUndefined(join(mounted.stdout.trim(), path));
  } finally {
    podman(['image', 'unmount', image]);
  }
}

/** Every path in the image (files and links), relative to its root. */
export function listImage(image: string): string[] {
  const mounted = podman(['image', 'mount', image]);
  if (mounted.code !== 0) throw new Error(`podman image mount ${image}: ${mounted.stderr.trim()} (run \`make image\`)`);
  try {
    const r = spawnSync('find', ['.', '-mindepth', '1', '-not', '-type', 'd'], { cwd: mounted.stdout.trim(), encoding: 'utf8', maxBuffer: 16 << 20 });
    return r.stdout.split('\n').filter(Boolean).map((p) => p.slice(2)).sort();
  } finally {
    podman(['image', 'unmount', image]);
  }
}

function readFileOrUndefined(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
