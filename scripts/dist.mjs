// `make dist`: the release files, in dist/release/, from the builds scripts/build.mjs and
// scripts/sea.mjs made:
//   kubectl-tap_vX_linux_amd64.tar.gz  the single executable (no Node needed)
//   kubectl-tap_vX_portable.tar.gz     the bundle (with its chunks/) and a launcher that needs Node >= 20
//   kubectl-tap-X.tgz                  the npm package (no runtime dependencies)
// and the krew manifest rendered from packaging/krew-manifest.template.yaml with the real
// sha256 of each archive: krew-manifest.yaml at the top and dist/krew-index/plugins/tap.yaml,
// the layout of a krew index (the central index's `tap` is another plugin; docs/install.md).
// RELEASE_URL (where the archives are published) and HOMEPAGE come from the environment.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../package.json' with { type: 'json' };

const version = pkg.version;
const release = 'dist/release';
const stage = 'dist/stage';
rmSync(release, { recursive: true, force: true });
rmSync(stage, { recursive: true, force: true });
mkdirSync(release, { recursive: true });

const homepage = process.env.HOMEPAGE || 'https://kubectl-tap.invalid';
const releaseUrl = process.env.RELEASE_URL || `${homepage}/releases/download/v${version}`;
if (!process.env.RELEASE_URL) process.stderr.write(`make dist: RELEASE_URL not set; the manifest's uri points at ${releaseUrl}\n`);

const linuxAmd64Archive = `kubectl-tap_v${version}_linux_amd64.tar.gz`;
archive(linuxAmd64Archive, { 'kubectl-tap': 'dist/sea/kubectl-tap', 'kubectl_complete-tap': 'packaging/kubectl_complete-tap', LICENSE: 'LICENSE' });
const portableArchive = `kubectl-tap_v${version}_portable.tar.gz`;
archive(portableArchive, {
  'kubectl-tap': 'packaging/launcher.sh',
  'kubectl-tap.mjs': 'dist/kubectl-tap',
  chunks: 'dist/chunks',
  'kubectl_complete-tap': 'packaging/kubectl_complete-tap',
  LICENSE: 'LICENSE',
});
npmPackage();

const manifest = render(readFileSync('packaging/krew-manifest.template.yaml', 'utf8'), {
  version: `v${version}`,
  homepage,
  releaseUrl,
  // The image the built CLI defaults to (src/kube/manifests.ts), asked rather than restated.
  image: JSON.parse(spawnSync('dist/kubectl-tap', ['version', '--client', '-o', 'json'], { encoding: 'utf8' }).stdout).tapperImage,
  linuxAmd64Archive,
  linuxAmd64Sha256: sha256(join(release, linuxAmd64Archive)),
  portableArchive,
  portableSha256: sha256(join(release, portableArchive)),
});
writeFileSync('krew-manifest.yaml', manifest);
mkdirSync('dist/krew-index/plugins', { recursive: true });
writeFileSync('dist/krew-index/plugins/tap.yaml', manifest);
rmSync(stage, { recursive: true, force: true });

/**
 * A .tar.gz of `files` (name in the archive -> source), byte-for-byte the same on every run.
 * A directory (the bundle's chunks) goes in whole, its files not executable.
 */
function archive(name, files) {
  const dir = join(stage, name.replace(/\.tar\.gz$/, ''));
  mkdirSync(dir, { recursive: true });
  for (const [to, from] of Object.entries(files)) {
    if (statSync(from).isDirectory()) {
      copyDirectory(from, join(dir, to));
      continue;
    }
    copyFileSync(from, join(dir, to));
    chmodSync(join(dir, to), from === 'LICENSE' ? 0o644 : 0o755);
  }
  run('sh', ['-c', `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - ${Object.keys(files).join(' ')} | gzip -n -6 > "$2"`, 'sh', dir, join(release, name)]);
}

/** The npm package: the bundle alone, so `npm install -g` needs no registry for dependencies. */
function npmPackage() {
  const dir = join(stage, 'npm');
  mkdirSync(dir, { recursive: true });
  copyFileSync('dist/kubectl-tap', join(dir, 'kubectl-tap.mjs'));
  copyDirectory('dist/chunks', join(dir, 'chunks'));
  copyFileSync('packaging/kubectl_complete-tap', join(dir, 'kubectl_complete-tap'));
  for (const f of ['LICENSE', 'README.md']) copyFileSync(f, join(dir, f));
  const manifest = {
    name: pkg.name,
    version,
    description: pkg.description,
    license: pkg.license,
    type: 'module',
    bin: { 'kubectl-tap': 'kubectl-tap.mjs', 'kubectl_complete-tap': 'kubectl_complete-tap' },
    engines: pkg.engines,
    files: ['kubectl-tap.mjs', 'chunks', 'kubectl_complete-tap'],
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  run('npm', ['pack', '--silent', '--pack-destination', release, dir]);
}

/** A flat directory such as dist/chunks (scripts/build.mjs: the code each command loads when it runs). */
function copyDirectory(from, to) {
  cpSync(from, to, { recursive: true });
  chmodSync(to, 0o755);
  for (const f of readdirSync(to)) chmodSync(join(to, f), 0o644);
}

function render(template, values) {
  const text = template.replace(/\{\{(\w+)\}\}/g, (_, key) => {
    if (!(key in values)) throw new Error(`packaging/krew-manifest.template.yaml: no value for {{${key}}}`);
    return values[key];
  });
  return text;
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}
