#!/usr/bin/env bash
# `make demo`: brings up the simulated cluster (test/cluster) with the shop running on two
# nodes, taps the whole shop live with `kubectl tap -n shop -o summary` for 30 s (the plugin
# installs its stack, streams every node's calls with names, and removes the stack at the
# end), shows that nothing of it is left, then tears the cluster down.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root: the simulated cluster uses network namespaces, veths and iptables" >&2
  exit 1
fi

cleanup() {
  npx tsx test/cluster/cli.ts down >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

npx tsx test/cluster/cli.ts up --nodes 2 >&2
export KUBECONFIG="$PWD/.cluster/kubeconfig"
# kubectl finds the plugin on PATH, as it would after `make build` and a copy to ~/bin.
export PATH="$PWD/dist:$PATH"

echo "waiting for the shop's pods to be ready..." >&2
kubectl wait --for=condition=Ready pods --all -n shop --timeout=90s >/dev/null

echo '$ kubectl get pods -n shop -o wide'
kubectl get pods -n shop -o wide
echo
echo '$ kubectl tap -n shop -o summary --duration 30s'
kubectl tap -n shop -o summary --duration "${DEMO_DURATION:-30s}"
echo
echo '$ kubectl get namespaces    # the stack is gone'
kubectl get namespaces
echo
echo '$ kubectl get all,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,namespaces -A -l app.kubernetes.io/managed-by=kubectl-tap'
left=$(kubectl get all,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,namespaces -A -l app.kubernetes.io/managed-by=kubectl-tap -o name)
if [ -n "$left" ]; then echo "left behind by kubectl tap: $left" >&2; exit 1; fi
echo 'nothing labelled app.kubernetes.io/managed-by=kubectl-tap is left'
