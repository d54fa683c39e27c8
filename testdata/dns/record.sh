#!/usr/bin/env bash
# Records testdata/dns/queries.pcap: dig asking dnsmasq (a local resolver serving a made-up
# zone, no upstream) on 127.0.0.1:5300 inside a throw-away network namespace, over UDP and
# TCP, including an NXDOMAIN; plus mDNS-like noise (id 0 queries and an unsolicited answer
# to port 5353) that must not become entries. Needs root, ip, dnsmasq, dig, tcpdump, node.
# Usage: bash testdata/dns/record.sh [output.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/queries.pcap}
ns=tapdns$$
work=$(mktemp -d)
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  sleep 0.2
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5300 --listen-address=127.0.0.1 \
  --bind-interfaces --pid-file="$work/dnsmasq.pid" --user=root --group=root \
  --address=/shop.example/10.0.0.5 \
  --local=/internal.test/ \
  --host-record=db.internal.test,10.0.0.7,fd00::7 \
  --cname=www.internal.test,db.internal.test \
  --txt-record=internal.test,"v=spf1 -all" \
  --mx-host=internal.test,mail.internal.test,10 \
  --srv-host=_http._tcp.internal.test,db.internal.test,8080,0,5 &
sleep 0.5
ip netns exec "$ns" tcpdump -i lo -w "$out" --immediate-mode -U 'udp or tcp' 2>/dev/null &
tcpdump_pid=$!
sleep 0.7
q() { ip netns exec "$ns" dig @127.0.0.1 -p 5300 +tries=1 +time=2 "$@" >/dev/null; }
q api.shop.example A
q db.internal.test AAAA
q www.internal.test A
q internal.test TXT
q internal.test MX
q _http._tcp.internal.test SRV
q missing.internal.test A
q +tcp db.internal.test A
q +tcp internal.test MX
q -x 10.0.0.7
ip netns exec "$ns" node "$here/mdns-noise.mjs"
sleep 0.3
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
echo "wrote $out"
