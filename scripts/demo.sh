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
capture_loop=
cleanup() {
  if [ -n "$capture_loop" ]; then kill "$capture_loop" 2>/dev/null || true; fi
  pkill -f "tcpdump .*$capture_dir" 2>/dev/null || true
  npx tsx test/cluster/cli.ts down || true
  rm -rf "$capture_dir"
}
trap cleanup EXIT INT TERM

npx tsx test/cluster/cli.ts up --nodes 2
export KUBECONFIG="$PWD/.cluster/kubeconfig"

# Tap the shop from its first packet: as each server pod gets its address, tcpdump starts in
# the pod's network namespace for the ports the pod serves (after kube-proxy's NAT, as a
# tapper on the pod's interface sees it), so every call is captured once, at its server, and
# connections are seen from their SYN. Admin ports (metrics) are left out.
start_captures() {
  local jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid} {.status.podIP} {range .spec.containers[*]}{range .ports[*]}{.containerPort} {end}{end}{"\n"}{end}'
  local deadline=$((SECONDS + 30)) pod uid ip ports netns filter port
  while ((SECONDS < deadline)); do
    while read -r pod uid ip ports; do
      [ -n "$ip" ] && [ ! -e "$capture_dir/$pod.started" ] || continue
      netns=$(ip netns list | awk -v id="p$(echo "$uid" | tr -d - | cut -c1-10)" '$1 ~ id"$" {print $1}')
      filter=$(for port in $ports; do case $port in 9100|9101) ;; *) printf '(dst host %s and dst port %s) or (src host %s and src port %s) or ' "$ip" "$port" "$ip" "$port" ;; esac; done)
      [ -n "$netns" ] && [ -n "$filter" ] || continue
      touch "$capture_dir/$pod.started"
      ip netns exec "$netns" tcpdump -i any -U -w "$capture_dir/$pod.pcap" "${filter% or }" >/dev/null 2>&1 &
    done < <(kubectl get pods -n shop -o jsonpath="$jsonpath"; kubectl get pods -n kube-system -l k8s-app=kube-dns -o jsonpath="$jsonpath")
    sleep 0.3
  done
}
start_captures &
capture_loop=$!

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


kill "$capture_loop" 2>/dev/null || true
pkill -INT -f "tcpdump .*$capture_dir" || true
sleep 0.5
mergecap -w "$capture_dir/shop.pcapng" "$capture_dir"/*.pcap
# DEMO_CAPTURE=FILE keeps the capture for a look with kubectl tap read, tshark or Wireshark.
if [ -n "${DEMO_CAPTURE:-}" ]; then cp "$capture_dir/shop.pcapng" "$DEMO_CAPTURE"; fi
echo
# RabbitMQ's runtime looks its own host name up several times a second; leave that out.
filter='protocol != "dns" or $contains(request.questions[0].name, "partner")'
echo "\$ kubectl tap read shop.pcapng -o summary -f '$filter' | head -n 40"
PATH="$PWD/dist:$PATH" kubectl tap read "$capture_dir/shop.pcapng" -o summary -q -f "$filter" | head -n 40
echo
echo "\$ kubectl tap read shop.pcapng | jq -r .protocol | sort | uniq -c"
PATH="$PWD/dist:$PATH" kubectl tap read "$capture_dir/shop.pcapng" | jq -r .protocol | sort | uniq -c
