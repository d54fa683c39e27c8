// Builds dist/sea/kubectl-tap: a Linux single executable (Node's single-executable-application
// support) that needs no Node on the user's machine. The blob is made by the Node running this
// script, and that same Node binary is the one the blob is injected into, as Node requires.
// Usage: node scripts/sea.mjs   (after scripts/build.mjs; scripts/dist.mjs calls it)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { bundledManifests } from './bundle-inputs.mjs';
import { lazyStringWidth } from './lazy-string-width.mjs';

// The bundle's shebang flags (scripts/build.mjs), set another way: Node 20's SEA config has no
// execArgv, and a single executable takes no Node flags on its command line. Two of the three
// V8 reads while running, so they are set here, before any module of the bundle is evaluated:
// --heap-growing-percent=50 (on 300,000 unanswered DNS queries: peak RSS 517 MB without it,
// 276-286 MB with it, the bundle 246-253 MB) and --expose-gc, whose gc() the memory budget calls after
// it shed (src/memory/budget.ts); v8.setFlagsFromString exposes it to new contexts only, so it
// is taken from one. --max-semi-space-size is read once, when the heap is made: too late here
// (new space stays 32 MB); NODE_OPTIONS=--max-semi-space-size=8 sets it (the SEA honours
// NODE_OPTIONS; 267-269 MB on the same capture). Why no re-exec with it: docs/install.md.
const SEA_HEAP_FLAGS = [
  "require('node:v8').setFlagsFromString('--heap-growing-percent=50');",
  "if (typeof globalThis.gc !== 'function') { require('node:v8').setFlagsFromString('--expose-gc'); globalThis.gc = require('node:vm').runInNewContext('gc'); }",
].join('\n');

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
    js: "const __tapImportMetaUrl = require('node:url').pathToFileURL(process.execPath).href;\n" + SEA_HEAP_FLAGS,
  },
  define: { __TAP_MANIFESTS__: JSON.stringify(bundledManifests()), 'import.meta.url': '__tapImportMetaUrl' },
  external: ['*.node'],
  plugins: [
    lazyStringWidth,
    {
      // node-fetch (under client-node) tries require('encoding') for legacy charsets, inside a
      // try; left unresolved, the executable warns about it on every run. Nothing here needs it.
      name: 'stub-optional-encoding',
      setup(b) {
        b.onResolve({ filter: /^encoding$/ }, () => ({ path: 'encoding', namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      },
    },
    {
      // ws's and debug's optional native helpers, each required inside a try once the cluster
      // client loads (kubectl tap version, a session): left unresolved, the executable warns
      // that its require() loads built-in modules only. Bundled as absent, the try falls back.
      name: 'absent-optional-modules',
      setup(b) {
        b.onResolve({ filter: /^(bufferutil|utf-8-validate|supports-color)$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
        b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({ contents: `throw new Error('${args.path} is not bundled');`, loader: 'js' }));
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

