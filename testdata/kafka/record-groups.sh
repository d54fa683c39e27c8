#!/usr/bin/env bash
# Records testdata/kafka/groups.pcap: real Kafka clients against the stand-in broker
# (stand-in-broker.mjs, "flexible" profile: it advertises flexible versions of every API it
# implements) on 127.0.0.1:19093:
#   kafkajs 2.2 (kafkajs-groups.mjs): admin CreateTopics twice (the second gets
#   TOPIC_ALREADY_EXISTS), Produce, and a consumer group that finds its coordinator, joins
#   (MEMBER_ID_REQUIRED, then again with its id), syncs, fetches offsets, lists offsets,
#   fetches, commits, heartbeats and leaves;
#   kcat 1.7 / librdkafka 2.0.2: -L (Metadata), -P (Produce), -C -e (ListOffsets, Fetch), and
#   -G (a librdkafka consumer group: OffsetFetch v7 is flexible, OffsetCommit, LeaveGroup v1).
# The broker's journal (what it parsed and answered: its own decoding, independent of src/)
# becomes groups.expected.json, the ground truth the test checks the dissector's entries with.
# Needs tcpdump (root for lo), kcat and node.
# Usage: bash testdata/kafka/record-groups.sh [output.pcap] [port]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/groups.pcap}
port=${2:-19093}
expected=${out%.pcap}.expected.json
journal=$(mktemp)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap 'cleanup; rm -f "$journal"' EXIT
tcpdump -i lo -w "$out" --immediate-mode -U "tcp port $port" 2>/dev/null & tcpdump_pid=$!
BROKER_JOURNAL=$journal node "$here/stand-in-broker.mjs" "$port" flexible >/dev/null & pids+=($!)
sleep 0.7
node "$here/kafkajs-groups.mjs" "$port" >/dev/null
kcat -b "127.0.0.1:$port" -L >/dev/null
printf 'k1:ledger line one\nk2:ledger line two\n' | kcat -b "127.0.0.1:$port" -P -t ledger -K:
kcat -b "127.0.0.1:$port" -C -t ledger -o beginning -e -q >/dev/null
kcat -b "127.0.0.1:$port" -G audit -X auto.offset.reset=earliest -e -q ledger >/dev/null
# Long-polling Fetches the clients left behind are answered (into the journal) within 1 s.
sleep 1.2
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
cleanup; pids=()
# One request a line, in the order the broker read them.
{ echo '['; sed '$!s/$/,/' "$journal"; echo ']'; } > "$expected"
echo "wrote $out and $expected"
