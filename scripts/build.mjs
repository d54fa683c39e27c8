// Bundles the CLI into an executable file, dist/kubectl-tap (with its chunks in dist/chunks/),
// that kubectl's plugin discovery finds on PATH, and the tapper daemon into dist/tapper.js (run by the image as
// `node dist/tapper.js`). Heavy modules are loaded lazily by the commands that need them,
// so `kubectl tap --help` stays fast. The tapper's capture addon (native/capture.c) is
// compiled to dist/capture.node beside them (scripts/build-addon.mjs).
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { bundledManifests, tapperBuildOptions } from './bundle-inputs.mjs';
import { buildCaptureAddon } from './build-addon.mjs';
import { lazyNodeBuiltins } from './lazy-node-builtins.mjs';
import { lazyStringWidth } from './lazy-string-width.mjs';

// A young generation of 8 MiB a semi-space (instead of 16) keeps peak RSS ~50 MB lower at
// the same speed on large captures (bench/run.ts); `env -S` passes the flags on Linux and macOS.
// --expose-gc lets the memory budget ask for a collection after it shed (src/memory/budget.ts).
// --heap-growing-percent=50: the next full GC comes once the heap grew by half of what was
// live after the last, where V8 otherwise lets a heap of 57 MB live grow to 460 MB first
// (300,000 unanswered DNS queries: 577 -> 277 MB peak RSS, 6.2 -> 7.6 s CPU; 60,000
// ordinary HTTP calls: 128 -> 110 MB, CPU unchanged at 2.1 s).
const SHEBANG = '#!/usr/bin/env -S node --max-semi-space-size=8 --expose-gc --heap-growing-percent=50';

// Split (esbuild's code splitting): dist/kubectl-tap parses the command line and each
// command's code loads from dist/chunks/ when it runs, so `read` never compiles the cluster
// client (@kubernetes/client-node and what it brings, 3 MB of the 5.4 MB) nor Graphviz.
// V8 reads all of a file it is given, even the functions it compiles later: one file took
// `read` of an empty capture 0.235 s of CPU, the split bundle 0.160 s (farm-bench, 40 pairs).
rmSync('dist/chunks', { recursive: true, force: true });
await build({
  entryPoints: { 'kubectl-tap': 'cmd/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Every file gets its own require() (lazy-node-builtins.mjs, and CommonJS libraries call it).
  banner: { js: "import { createRequire as __tapCreateRequire } from 'node:module';\nconst require = __tapCreateRequire(import.meta.url);" },
  // capture.node is the tapper's native addon, loaded from a path only the tapper computes.
  external: ['*.node'],
  define: { __TAP_MANIFESTS__: JSON.stringify(bundledManifests()) },
  plugins: [lazyStringWidth, lazyNodeBuiltins],
  logLevel: 'warning',
});
// The entry under the name kubectl's plugin discovery looks for, with the shebang and its flags.
writeFileSync('dist/kubectl-tap', `${SHEBANG}\n${readFileSync('dist/kubectl-tap.mjs', 'utf8')}`);
rmSync('dist/kubectl-tap.mjs');
chmodSync('dist/kubectl-tap', 0o755);

await build(tapperBuildOptions());

buildCaptureAddon('dist/capture.node');
