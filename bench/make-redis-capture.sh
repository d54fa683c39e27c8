#!/usr/bin/env bash
# Writes a Redis capture big enough to time to $1: redis-benchmark, 16 commands pipelined per
# connection, 4 connections, REQUESTS SET + REQUESTS GET (default 500k each: 1M calls, so that
# start-up is under 5% of the run), from a throwaway redis-server on a non-standard port.
# tcpdump is buffered (not --immediate-mode) with a 256 MiB kernel buffer so that it keeps up
# (immediate mode dropped 47k packets of a million), and given 1.5 s to drain before it stops.
# Needs root (tcpdump on lo), redis-server and redis-benchmark.
set -euo pipefail
out=${1:?usage: make-redis-capture.sh OUT.pcap}
PORT=${PORT:-16392}
REQUESTS=${REQUESTS:-500000}
tmp=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/log" 2>&1 &
srv=$!
td=
cleanup() {
  [ -n "$td" ] && kill -INT "$td" 2>/dev/null || true
  kill "$srv" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
tcpdump -i lo -B 262144 -w "$out" "tcp port $PORT" 2>"$tmp/tcpdump.log" &
td=$!
sleep 0.5
redis-benchmark -p "$PORT" -P 16 -c 4 -n "$REQUESTS" -t set,get -q >/dev/null
sleep 1.5
kill -INT "$td"; wait "$td" || true
td=
grep -h 'dropped by kernel' "$tmp/tcpdump.log" >&2 || true
