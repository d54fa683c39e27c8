#!/usr/bin/env bash
# Makes the DNS benchmark capture: `dig -f` (one process, queries read from a file) asking
# dnsmasq in a private network namespace QUERIES times over UDP (a tenth of them over TCP),
# recorded by tcpdump. Port 5300, so tshark needs `-d udp.port==5300,dns -d tcp.port==5300,dns`.
# Usage (root): bash bench/make-dns-capture.sh OUT.pcap [QUERIES]
set -euo pipefail
OUT=${1:?usage: make-dns-capture.sh OUT.pcap [QUERIES]}
QUERIES=${2:-400000}
NS=tapt-bench-dns$$
[ "$(id -u)" = 0 ] || { echo "make-dns-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
for tool in tcpdump dig dnsmasq ip; do command -v "$tool" >/dev/null || { echo "make-dns-capture.sh: $tool is missing" >&2; exit 1; }; done
WORK=$(mktemp -d)
cleanup() {
  set +e
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
  sleep 0.3
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$(dirname "$OUT")"
ip netns exec "$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5300 --listen-address=127.0.0.1 --bind-interfaces \
  --pid-file="$WORK/pid" --user=root --group=root --cache-size=0 --address=/shop.example/10.0.0.5 --local=/internal.test/ \
  --host-record=db.internal.test,10.0.0.7,fd00::7 --mx-host=internal.test,mail.internal.test,10 &
sleep 0.5
ip netns exec "$NS" tcpdump -i lo -w "$OUT" --immediate-mode -U 'port 5300' 2>/dev/null & TCPDUMP=$!
sleep 0.7
awk -v n="$QUERIES" 'BEGIN { split("api.shop.example A|db.internal.test AAAA|internal.test MX|missing.internal.test A|web.shop.example A", q, "|");
  for (i = 0; i < n; i++) print q[i % 5 + 1] (i % 10 == 9 ? " +tcp" : "") }' >"$WORK/queries"
ip netns exec "$NS" dig @127.0.0.1 -p 5300 +tries=1 +time=1 -f "$WORK/queries" >/dev/null
sleep 0.3
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
echo "wrote $OUT ($QUERIES queries)" >&2
