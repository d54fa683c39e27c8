#!/usr/bin/env bash
# Records testdata/kafka/codecs.pcap: kcat 1.7 / librdkafka 2.0.2 producing one batch of
# records to a topic per compression codec (gzip, snappy, lz4, zstd: `kcat -P -z CODEC`), then
# consuming each topic back (`kcat -C`, whose Fetch responses carry the same compressed
# batches), against the stand-in broker (stand-in-broker.mjs, codecs profile) on
# 127.0.0.1:19094. codecs.expected.json, the ground truth, is written from the client side:
# the records the script sent per topic, and the records kcat printed after librdkafka itself
# decompressed the fetched batches (an independent decoder).
# Needs tcpdump (root for lo), kcat and node.
# Usage: bash testdata/kafka/record-codecs.sh [output.pcap] [port]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/codecs.pcap}
port=${2:-19094}
expected=${out%.pcap}.expected.json
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
tcpdump -i lo -w "$out" --immediate-mode -U "tcp port $port" 2>/dev/null & tcpdump_pid=$!
node "$here/stand-in-broker.mjs" "$port" codecs >/dev/null & pids+=($!)
sleep 0.7
for codec in gzip snappy lz4 zstd; do
  # Repetitive values, so that every codec really shrinks them.
  for i in 1 2 3; do printf '%s-%s:{"order":%s,"codec":"%s","note":"%s"}\n' "$codec" "$i" "$i" "$codec" "$(printf 'repeat %.0s' $(seq 1 20))"; done > "$work/$codec.sent"
  kcat -b "127.0.0.1:$port" -P -t "orders-$codec" -z "$codec" -K: < "$work/$codec.sent"
  kcat -b "127.0.0.1:$port" -C -t "orders-$codec" -o beginning -e -q -f '%k:%s\n' > "$work/$codec.consumed"
done
sleep 0.3
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
node -e '
const fs = require("fs");
const [work, file] = process.argv.slice(1);
const lines = (f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => { const i = l.indexOf(":"); return [l.slice(0, i), l.slice(i + 1)]; });
const topics = ["gzip", "snappy", "lz4", "zstd"].map((codec) => ({ topic: `orders-${codec}`, codec, sent: lines(`${work}/${codec}.sent`), consumedByKcat: lines(`${work}/${codec}.consumed`) }));
fs.writeFileSync(file, JSON.stringify(topics, null, 1) + "\n");' "$work" "$expected"
echo "wrote $out and $expected"
