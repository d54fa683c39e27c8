// Writes the snapshot expected files again from their captures (see test/snapshots.ts for
// what a snapshot is, and the independent check each one has). Review the diff before
// committing: a change there is a change in what the engine makes of the same traffic.
// Usage: node --import tsx scripts/regenerate-snapshots.ts [FILE...]   (default: all)
//        --check: write nothing, exit 1 if any file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSnapshot, SNAPSHOTS, testdata } from '../test/snapshots.js';

const check = process.argv.includes('--check');
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = named.length > 0 ? named : Object.keys(SNAPSHOTS);
let differ = 0;
for (const file of files) {
  const snapshot = SNAPSHOTS[file];
  if (!snapshot) {
    console.error(`${file}: not a snapshot; the snapshots are ${Object.keys(SNAPSHOTS).join(', ')}`);
    process.exit(2);
  }
  const path = join(testdata, file);
  const text = formatSnapshot(await snapshot.make());
  const same = readFileSync(path, 'utf8') === text;
  if (!same) differ++;
  if (!check && !same) writeFileSync(path, text);
  console.error(`${file}: ${same ? 'unchanged' : check ? 'differs' : 'rewritten'} (${snapshot.provenance})`);
}
process.exit(check && differ > 0 ? 1 : 0);
