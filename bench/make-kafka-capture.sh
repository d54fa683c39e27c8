#!/usr/bin/env bash
# Makes the Kafka benchmark capture: kcat (librdkafka) producing MESSAGES one-record Produce
# requests (linger 0, one message per batch) to the stand-in broker
# (testdata/kafka/stand-in-broker.mjs) on the loopback of a private network namespace, then
# consuming them back (ListOffsets, Fetch), recorded by tcpdump. Port 19092, so tshark needs
# `-d tcp.port==19092,kafka`.
# Usage (root): bash bench/make-kafka-capture.sh OUT.pcap [MESSAGES]
set -euo pipefail
OUT=${1:?usage: make-kafka-capture.sh OUT.pcap [MESSAGES]}
MESSAGES=${2:-50000}
PORT=19092
NS=tapt-bench-kafka$$
HERE=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "make-kafka-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
for tool in tcpdump kcat node ip; do command -v "$tool" >/dev/null || { echo "make-kafka-capture.sh: $tool is missing" >&2; exit 1; }; done
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
ip netns exec "$NS" tcpdump -i lo -w "$OUT" --immediate-mode -U "tcp port $PORT" 2>/dev/null & TCPDUMP=$!
sleep 0.7
seq 1 "$MESSAGES" | sed 's/^/order-/; s/$/:{"sku":42,"qty":1}/' | ip netns exec "$NS" kcat -b "127.0.0.1:$PORT" -P -t orders -K: \
  -X linger.ms=0 -X batch.num.messages=1 -X queue.buffering.max.messages=1000
ip netns exec "$NS" kcat -b "127.0.0.1:$PORT" -C -t orders -o beginning -e -q >/dev/null
sleep 0.3
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
echo "wrote $OUT ($MESSAGES produced messages)" >&2
