#!/usr/bin/env bash
# Records testdata/kafka/clients.pcap: real Kafka clients against the stand-in broker
# (stand-in-broker.mjs) on 127.0.0.1:19092, a non-standard port:
#   kafkajs (kafkajs-client.mjs): ApiVersions, Metadata, Produce with headers, Produce gzip;
#   kcat -L (Metadata), kcat -P (Produce, key separator ':'), kcat -C -e (ListOffsets, Fetch
#   returning every record produced above). Needs tcpdump (root for lo), kcat and node.
# Usage: bash testdata/kafka/record.sh [output.pcap] [port]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/clients.pcap}
port=${2:-19092}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
tcpdump -i lo -w "$out" --immediate-mode -U "tcp port $port" 2>/dev/null & tcpdump_pid=$!
node "$here/stand-in-broker.mjs" "$port" >/dev/null & pids+=($!)
sleep 0.7
node "$here/kafkajs-client.mjs" "$port"
kcat -b "127.0.0.1:$port" -L >/dev/null
printf 'k1:hello from kcat\nk2:second line\n' | kcat -b "127.0.0.1:$port" -P -t orders -K:
kcat -b "127.0.0.1:$port" -C -t orders -o beginning -e -q >/dev/null
sleep 0.3
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
# The ground truth, from tshark's dissection of the capture (not from our engine).
node "$here/derive-clients-expected.mjs" "$out" "$port" > "${out%.pcap}.expected.json"
echo "wrote $out and ${out%.pcap}.expected.json"
