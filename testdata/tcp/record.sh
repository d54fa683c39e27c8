#!/usr/bin/env bash
# Records testdata/tcp/retransmissions.pcap: real TCP traffic with real retransmissions.
# Inside a network namespace this script creates (tapt-tcp; nothing leaves it), lo gets an
# Ethernet-sized MTU (so streams are cut into many segments) and iptables drops 7% of the
# port-8080 packets on receive. tcpdump on lo sees a packet when it is sent, before the drop,
# so the capture holds the original and the kernel's retransmissions (duplicates, overlaps,
# repacketised data). traffic.mjs (node `net` server + client) prints what each side wrote:
# that becomes retransmissions.expected.json, the ground truth for test/tcp/capture.test.ts.
#
# Usage (root): bash testdata/tcp/record.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespace, iptables, tcpdump)" >&2; exit 1; }
for tool in tcpdump iptables ip node; do command -v "$tool" >/dev/null || { echo "record.sh: $tool is missing" >&2; exit 1; }; done

NS=tapt-tcp
WORK=$(mktemp -d /tmp/tapt-tcp.XXXXXX)
TCPDUMP_PID=
cleanup() {
  set +e
  [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up mtu 1500
# One TCP segment per captured packet (no GSO super-packets), as on a real NIC.
ip netns exec "$NS" ip link set lo gso_max_segs 1
# Seeded by the kernel's PRNG: each run drops different packets; the test only relies on
# the ground truth printed by traffic.mjs, not on which packets were dropped.
ip netns exec "$NS" iptables -A INPUT -p tcp --dport 8080 -m statistic --mode random --probability 0.07 -j DROP
ip netns exec "$NS" iptables -A INPUT -p tcp --sport 8080 -m statistic --mode random --probability 0.07 -j DROP

# -B: a 32 MiB capture buffer, or tcpdump itself drops packets on a busy 2-core machine
# (the test needs every packet the kernel sent; capture loss is simulated in the test).
ip netns exec "$NS" tcpdump -i lo -B 32768 -w "$WORK/capture.pcap" --immediate-mode -U 'tcp port 8080' 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
ip netns exec "$NS" node "$HERE/traffic.mjs" 127.0.0.1 >"$WORK/expected.json"
sleep 0.3
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
TCPDUMP_PID=

cat "$WORK/tcpdump.err" >&2
cp "$WORK/capture.pcap" "$HERE/retransmissions.pcap"
cp "$WORK/expected.json" "$HERE/retransmissions.expected.json"
echo "recorded $(stat -c %s "$HERE/retransmissions.pcap") bytes" >&2
