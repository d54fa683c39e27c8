#!/usr/bin/env bash
# `make demo`: brings up the simulated cluster (test/cluster) with the shop running, shows
# the pods across the nodes and the shop's traffic flowing, then tears everything down.
# When the plugin lands, this is where `kubectl tap -n shop` runs against the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root: the simulated cluster uses network namespaces, veths and iptables" >&2
  exit 1
fi

cleanup() { npx tsx test/cluster/cli.ts down || true; }
trap cleanup EXIT INT TERM

npx tsx test/cluster/cli.ts up --nodes 2
export KUBECONFIG="$PWD/.cluster/kubeconfig"

echo "waiting for the shop's pods to be ready..." >&2
kubectl wait --for=condition=Ready pods --all -n shop --timeout=90s >/dev/null

kubectl get nodes -o wide
echo
kubectl get pods -A -o wide
echo
kubectl get svc,endpointslices -n shop
echo
echo "letting the loadgenerator shop for 10 s..." >&2
sleep 10
for app in loadgenerator frontend catalog cart checkout payments shipping kafka partner-rates; do
  pod=$(kubectl get pods -n shop -l "app=$app" -o jsonpath='{.items[0].metadata.name}')
  printf '%-14s %s\n' "$app" "$(kubectl get --raw "/api/v1/namespaces/shop/pods/$pod:9100/proxy/metrics")"
done
