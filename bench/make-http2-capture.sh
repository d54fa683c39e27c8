#!/usr/bin/env bash
# Writes a capture of many HTTP/2 requests to $1 for `make bench`: nghttpd (nghttp2) serving
# a small page over cleartext HTTP/2, loaded by h2load on 4 connections with 50 concurrent
# streams each (HPACK dynamic table reuse, interleaved frames).
set -euo pipefail
out=${1:?usage: make-http2-capture.sh OUT.pcap}
requests=${REQUESTS:-400000}
port=${PORT:-18091}
work=$(mktemp -d)
trap 'kill $server_pid $dump_pid 2>/dev/null || true; rm -rf "$work"' EXIT
echo '<html><body>kubectl-tap bench page</body></html>' >"$work/index.html"
nghttpd --no-tls -d "$work" "$port" >/dev/null 2>&1 &
server_pid=$!
tcpdump -i lo -B 65536 -w "$out" --immediate-mode -U "tcp port $port" 2>"$work/dump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q listening "$work/dump.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.2
h2load -n "$requests" -c 4 -m 50 "http://127.0.0.1:$port/index.html" >/dev/null
sleep 0.3
kill -INT $dump_pid; wait $dump_pid 2>/dev/null || true
echo "wrote $out ($requests HTTP/2 requests)" >&2
