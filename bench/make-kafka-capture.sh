#!/usr/bin/env bash
# Makes the Kafka benchmark capture: kafkajs (testdata/kafka/kafkajs-load.mjs) sending SENDS
# Produce requests of RECORDS records each (default 200,000 of 10), 16 in flight, to the
# stand-in broker (testdata/kafka/stand-in-broker.mjs) on the loopback of a private network
# namespace, recorded by tcpdump (Produce and the client's ApiVersions/Metadata; the fetch
# path has its own small captures in testdata/kafka/). Port 19092, so tshark needs `-d tcp.port==19092,kafka`.
# Usage (root): bash bench/make-kafka-capture.sh OUT.pcap [SENDS] [RECORDS]
set -euo pipefail
OUT=${1:?usage: make-kafka-capture.sh OUT.pcap [SENDS] [RECORDS]}
SENDS=${2:-200000}
RECORDS=${3:-10}
PORT=19092
NS=tapt-bench-kafka$$
HERE=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "make-kafka-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
for tool in tcpdump node ip; do command -v "$tool" >/dev/null || { echo "make-kafka-capture.sh: $tool is missing" >&2; exit 1; }; done
cleanup() {
  set +e
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
  sleep 0.3
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$(dirname "$OUT")"
ip netns exec "$NS" node "$HERE/testdata/kafka/stand-in-broker.mjs" "$PORT" >/dev/null &
sleep 0.7
ip netns exec "$NS" tcpdump -i lo -B 262144 -w "$OUT" "tcp port $PORT" 2>"$OUT.tcpdump.log" & TCPDUMP=$!
sleep 0.7
(cd "$HERE" && ip netns exec "$NS" node testdata/kafka/kafkajs-load.mjs "$PORT" "$SENDS" "$RECORDS" 16)
sleep 0.3
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
grep -h 'dropped by kernel' "$OUT.tcpdump.log" >&2 || true
rm -f "$OUT.tcpdump.log"
echo "wrote $OUT ($SENDS Produce requests of $RECORDS records)" >&2
