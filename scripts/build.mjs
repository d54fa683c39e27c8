// Bundles the CLI into one executable file, dist/kubectl-tap, that kubectl's plugin
// discovery finds on PATH. Heavy modules are loaded lazily by the commands that need them,
// so `kubectl tap --help` stays fast.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

await build({
  entryPoints: ['cmd/main.ts'],
  outfile: 'dist/kubectl-tap',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __tapCreateRequire } from 'node:module';\nconst require = __tapCreateRequire(import.meta.url);",
  },
  // pcap is a native addon, used only by the tapper's live capture.
  external: ['pcap'],
  logLevel: 'warning',
});
chmodSync('dist/kubectl-tap', 0o755);
