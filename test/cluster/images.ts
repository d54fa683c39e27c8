// The one place that maps container image names to local commands. A container runs
// `command ?? entrypoint` followed by `args ?? cmd`, exactly as with a real image's
// ENTRYPOINT and CMD, in its pod's network namespace, with the environment its spec gives.
// `prepare` may write files into the container's own scratch folder first (its $HOME).
import { mkdirSync, writeFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface ImageSpec {
  entrypoint: string[];
  cmd: string[];
  /** environment the image sets (the spec's env overrides it); {dir} is the container's scratch folder */
  env?: Record<string, string>;
  prepare?(dir: string): void;
}

export interface ImageContext {
  /** the cluster's state directory (bundles, DNS hosts) */
  stateDir: string;
}

function rabbitmqServer(): string {
  const lib = '/usr/lib/rabbitmq/lib';
  const version = existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith('rabbitmq_server-')).sort().pop() : undefined;
  return version ? join(lib, version, 'sbin', 'rabbitmq-server') : 'rabbitmq-server';
}

/** The shop's services are one bundle (built by `up`), one image name per service. */
export const SHOP_IMAGE_PREFIX = 'kubectl-tap/shop-';

export function resolveImage(image: string, ctx: ImageContext): ImageSpec | undefined {
  const name = image.replace(/@sha256:[0-9a-f]+$/, '');
  const [repo, tag] = name.split(/:(?=[^/]*$)/);
  if (repo?.startsWith(SHOP_IMAGE_PREFIX)) {
    return {
      entrypoint: [process.execPath, join(ctx.stateDir, 'bin', 'shop.mjs')], cmd: [repo.slice(SHOP_IMAGE_PREFIX.length)],
      env: { SHOP_PROTO: join(repoRoot, 'test', 'cluster', 'shop', 'shop.proto') },
    };
  }
  switch (repo) {
    case 'kubectl-tap/tapper': {
      // A tag with a build of its own (as if pushed to a registry) runs that build; any other tag the current one.
      const loaded = tag === undefined ? undefined : taggedTapperPath(tag);
      return { entrypoint: [process.execPath, ...tapperNodeFlags(), loaded && existsSync(loaded) ? loaded : join(repoRoot, 'dist', 'tapper.js')], cmd: [] };
    }
    case 'redis':
      return { entrypoint: ['redis-server'], cmd: ['--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', '{dir}'] };
    case 'rabbitmq':
      return {
        entrypoint: [rabbitmqServer()], cmd: [],
        env: {
          HOME: '{dir}', RABBITMQ_MNESIA_BASE: '{dir}/mnesia', RABBITMQ_LOG_BASE: '{dir}/log', RABBITMQ_NODENAME: 'rabbit@localhost',
          RABBITMQ_CONFIG_FILE: '{dir}/rabbitmq.conf', RABBITMQ_ENABLED_PLUGINS_FILE: '{dir}/enabled_plugins', RABBITMQ_PID_FILE: '{dir}/rabbit.pid',
        },
        prepare(dir) {
          mkdirSync(join(dir, 'mnesia'), { recursive: true });
          writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users = none\n');
          writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
        },
      };
    case 'dnsmasq':
      return {
        entrypoint: ['dnsmasq'],
        cmd: ['--keep-in-foreground', '--no-resolv', '--no-hosts', `--hostsdir=${join(ctx.stateDir, 'dns')}`, '--log-facility=-', '--user=root', '--pid-file', '--local=/cluster.local/'],
      };
    case 'busybox':
    case 'debian':
      return { entrypoint: [], cmd: ['sh'] };
    default:
      return undefined;
  }
}

/**
 * The node flags of the image's ENTRYPOINT (its heap sizing): without them the local process
 * grew its heap past the pod's 256 MiB memory limit and was OOM-killed where the container
 * was not (a capture played fast: peak RSS 315 MB without, 170 MB with them).
 */
function tapperNodeFlags(): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'tapper-image', 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  return entrypoint ? (JSON.parse(entrypoint[1]!) as string[]).filter((a) => a.startsWith('--')) : [];
}

/**
 * Where the build of kubectl-tap/tapper:TAG lives (test/kube/tapper-build.ts makes one), next
 * to dist/tapper.js so that it finds the same modules.
 */
export function taggedTapperPath(tag: string): string {
  return join(repoRoot, 'dist', `tapper-${tag.replace(/[^\w.-]/g, '_')}.js`);
}

export function expandDir(values: string[], dir: string): string[] {
  return values.map((v) => v.replaceAll('{dir}', dir));
}
