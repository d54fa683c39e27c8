// Builds dist/sea/kubectl-tap: a Linux single executable (Node's single-executable-application
// support) that needs no Node on the user's machine. The blob is made by the Node running this
// script, and that same Node binary is the one the blob is injected into, as Node requires.
// Usage: node scripts/sea.mjs   (after scripts/build.mjs; scripts/dist.mjs calls it)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { bundledManifests } from './bundle-inputs.mjs';

const out = 'dist/sea';
mkdirSync(out, { recursive: true });

// A single executable runs its main script as CommonJS (the ESM bundle fails there with
// "Cannot use import statement outside a module"), so this is a second, CommonJS build.
await build({
  entryPoints: ['cmd/main.ts'],
  outfile: `${out}/kubectl-tap.cjs`,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: {
    // yargs wants import.meta.url to find its locale files; the executable's own path stands in.
    // The shebang's --max-semi-space-size=8 (scripts/build.mjs) is not set here: Node 20's SEA
    // config has no execArgv, and v8.setFlagsFromString at start leaves the young generation at
    // its default (measured: new space 32 MB either way). On the test captures the flag changes
    // little; the executable peaks ~17 MB above the bundle anyway (104 vs 87 MB on
    // testdata/http1/impaired.pcap, with or without the flag): docs/install.md.
    js: "const __tapImportMetaUrl = require('node:url').pathToFileURL(process.execPath).href;",
  },
  define: { __TAP_MANIFESTS__: JSON.stringify(bundledManifests()), 'import.meta.url': '__tapImportMetaUrl' },
  external: ['*.node'],
  plugins: [
    {
      // node-fetch (under client-node) tries require('encoding') for legacy charsets, inside a
      // try; left unresolved, the executable warns about it on every run. Nothing here needs it.
      name: 'stub-optional-encoding',
      setup(b) {
        b.onResolve({ filter: /^encoding$/ }, () => ({ path: 'encoding', namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      },
    },
  ],
  logLevel: 'warning',
});

writeFileSync(
  `${out}/sea-config.json`,
  JSON.stringify({ main: `${out}/kubectl-tap.cjs`, output: `${out}/kubectl-tap.blob`, disableExperimentalSEAWarning: true, useCodeCache: true }),
);
run(process.execPath, ['--experimental-sea-config', `${out}/sea-config.json`]);

const exe = `${out}/kubectl-tap`;
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
// postject is the injector Node documents; its CLI is run from node_modules.
run(process.execPath, [
  'node_modules/postject/dist/cli.js', exe, 'NODE_SEA_BLOB', `${out}/kubectl-tap.blob`,
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
]);

function run(cmd, args) {
  // postject's ELF warnings ("Can't find string offset for section name") are noise on success.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

