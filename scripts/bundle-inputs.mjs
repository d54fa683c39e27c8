// What both CLI builds (scripts/build.mjs, scripts/sea.mjs) inline: the stack's YAML templates
// (src/kube/manifests.ts reads them from manifests/ when run from source).
import { readFileSync } from 'node:fs';

const files = ['namespace.yaml', 'reaper.yaml', 'tapper-serviceaccount.yaml', 'session-secret.yaml', 'tapper-daemonset.yaml'];

export function bundledManifests() {
  return Object.fromEntries(files.map((f) => [f, readFileSync(`manifests/${f}`, 'utf8')]));
}
