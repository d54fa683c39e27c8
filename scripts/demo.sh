#!/usr/bin/env bash
# `make demo`: brings up the simulated cluster (test/cluster) with the shop running, shows
# the pods across the nodes and the shop's traffic flowing, reads that traffic with
# `kubectl tap read`, then tears everything down. When the live plugin lands, this is where
# `kubectl tap -n shop` runs against the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root: the simulated cluster uses network namespaces, veths and iptables" >&2
  exit 1
fi

capture_dir=$(mktemp -d /tmp/kubectl-tap-demo.XXXXXX)
cleanup() {
  pkill -f "tcpdump .*$capture_dir" 2>/dev/null || true
  npx tsx test/cluster/cli.ts down || true
  rm -rf "$capture_dir"
}
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

# The engine on the cluster's real traffic: tcpdump in each pod's network namespace on the
# ports that pod serves, so every call is captured once, at its server, after kube-proxy's
# NAT (as a tapper on the pod's interface sees it). Admin ports (metrics) are left out.
echo
echo "capturing 8 s of the shop's traffic in every pod's network namespace..." >&2
jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid} {range .spec.containers[*]}{range .ports[*]}{.containerPort} {end}{end}{"\n"}{end}'
pods="$(kubectl get pods -n shop -o jsonpath="$jsonpath")
$(kubectl get pods -n kube-system -l k8s-app=kube-dns -o jsonpath="$jsonpath")"
while read -r pod uid ports; do
  [ -n "$pod" ] || continue
  netns=$(ip netns list | awk -v id="p$(echo "$uid" | tr -d - | cut -c1-10)" '$1 ~ id"$" {print $1}')
  [ -n "$netns" ] || continue
  filter=$(for port in $ports; do case $port in 9100|9101) ;; *) printf 'port %s or ' "$port" ;; esac; done)
  [ -n "$filter" ] || continue
  ip netns exec "$netns" tcpdump -i any -U -w "$capture_dir/$pod.pcap" "${filter% or }" >/dev/null 2>&1 &
done <<< "$pods"
sleep 8
pkill -INT -f "tcpdump .*$capture_dir" || true
sleep 0.5
mergecap -w "$capture_dir/shop.pcapng" "$capture_dir"/*.pcap
echo
echo "\$ kubectl tap read shop.pcapng -o summary   (first 30 calls)"
PATH="$PWD/dist:$PATH" kubectl tap read "$capture_dir/shop.pcapng" -o summary -q | head -n 30
echo
echo "\$ kubectl tap read shop.pcapng | jq -r .protocol | sort | uniq -c"
PATH="$PWD/dist:$PATH" kubectl tap read "$capture_dir/shop.pcapng" | jq -r .protocol | sort | uniq -c
