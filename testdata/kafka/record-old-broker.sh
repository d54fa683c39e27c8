#!/usr/bin/env bash
# Records testdata/kafka/old-broker.pcap: kcat 1.7 / librdkafka 2.0.2 -L against the
# stand-in broker in its "old" profile (no ApiVersions v3, like a broker before Kafka 2.4) on
# 127.0.0.1:19094. librdkafka asks ApiVersions v3, gets UNSUPPORTED_VERSION in a v0 body that
# lists the ApiVersions range, asks again with v0, then reads Metadata. The broker's journal
# becomes old-broker.expected.json, as in record-groups.sh.
# Needs tcpdump (root for lo), kcat and node.
# Usage: bash testdata/kafka/record-old-broker.sh [output.pcap] [port]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/old-broker.pcap}
port=${2:-19094}
expected=${out%.pcap}.expected.json
journal=$(mktemp)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap 'cleanup; rm -f "$journal"' EXIT
tcpdump -i lo -w "$out" --immediate-mode -U "tcp port $port" 2>/dev/null & tcpdump_pid=$!
BROKER_JOURNAL=$journal node "$here/stand-in-broker.mjs" "$port" old >/dev/null & pids+=($!)
sleep 0.7
kcat -b "127.0.0.1:$port" -L >/dev/null
sleep 0.3
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
cleanup; pids=()
{ echo '['; sed '$!s/$/,/' "$journal"; echo ']'; } > "$expected"
echo "wrote $out and $expected"
