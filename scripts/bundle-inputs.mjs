// What both CLI builds (scripts/build.mjs, scripts/sea.mjs) inline: the stack's YAML templates
// (src/kube/manifests.ts reads them from manifests/ when run from source); and how the tapper
// is bundled (scripts/build.mjs, and test/kube/tapper-build.ts for a tapper of another version).
import { readFileSync } from 'node:fs';

const files = ['namespace.yaml', 'reaper.yaml', 'tapper-serviceaccount.yaml', 'session-secret.yaml', 'tapper-daemonset.yaml'];

export function bundledManifests() {
  return Object.fromEntries(files.map((f) => [f, readFileSync(`manifests/${f}`, 'utf8')]));
}

/** esbuild's options for dist/tapper.js; `outfile` and `plugins` may differ (another version's build). */
export function tapperBuildOptions(root = '.') {
  return {
    entryPoints: [`${root}/tapper-image/main.ts`],
    outfile: 'dist/tapper.js',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: "import { createRequire as __tapCreateRequire } from 'node:module';\nconst require = __tapCreateRequire(import.meta.url);" },
    // capture.node (native/capture.c) sits next to the bundle (dist/, and /app in the image).
    external: ['*.node'],
    logLevel: 'warning',
  };
}
