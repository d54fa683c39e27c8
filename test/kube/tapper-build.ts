// A tapper built as another release would be: the same source with package.json's version set
// to `version`, bundled as scripts/build.mjs bundles dist/tapper.js, published as
// kubectl-tap/tapper:TAG (the simulated kubelet runs it for that tag: test/cluster/images.ts).
import { build, stop } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { taggedTapperPath } from '../cluster/images.js';
import { repoRoot } from '../cluster/paths.js';
// @ts-expect-error: a plain .mjs script without types
import { tapperBuildOptions } from '../../scripts/bundle-inputs.mjs';

export async function publishTapperBuild(tag: string, version: string): Promise<string> {
  const outfile = taggedTapperPath(tag);
  mkdirSync(dirname(outfile), { recursive: true });
  const releaseVersion = {
    name: 'release-version',
    setup(b: { onLoad: (o: { filter: RegExp }, f: (a: { path: string }) => Promise<{ contents: string; loader: 'json' }>) => void }) {
      b.onLoad({ filter: /[\\/]package\.json$/ }, async (args) => {
        const pkg = JSON.parse(await readFile(args.path, 'utf8'));
        return { contents: JSON.stringify(args.path === join(repoRoot, 'package.json') ? { ...pkg, version } : pkg), loader: 'json' };
      });
    },
  };
  try {
    await build({ ...tapperBuildOptions(repoRoot), outfile, plugins: [releaseVersion] });
  } finally {
    // esbuild's service process would keep the test file's process alive.
    await stop();
  }
  return outfile;
}
