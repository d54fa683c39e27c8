#!/bin/sh
# kubectl-tap's launcher in the portable archive (every os/arch except linux/amd64, which
# gets a single executable): runs the bundle next to it with Node.js 20 or later from PATH.
# krew links this file into its bin directory, so the bundle is found through the link.
self=$(readlink -f "$0" 2>/dev/null || echo "$0")
here=$(dirname "$self")
if ! command -v node >/dev/null 2>&1; then
  echo "kubectl tap: needs Node.js 20 or later on PATH (none found)" >&2
  exit 1
fi
major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
if [ "$major" -lt 20 ] 2>/dev/null; then
  echo "kubectl tap: needs Node.js 20 or later on PATH (found $(node --version))" >&2
  exit 1
fi
# A young generation of 8 MiB a semi-space keeps peak RSS lower at the same speed (scripts/build.mjs).
exec node --max-semi-space-size=8 "$here/kubectl-tap.mjs" "$@"
