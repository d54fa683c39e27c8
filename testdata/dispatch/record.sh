#!/usr/bin/env bash
# Records probe.pcap: what a Kubernetes tcpSocket readiness probe does to an HTTP/2 server.
# A node http2 server (which sends its SETTINGS frame as soon as a client connects) and a
# client that connects and closes without sending a byte, three times. Root (tcpdump).
set -euo pipefail
cd "$(dirname "$0")"
port=18095
work=$(mktemp -d)
trap 'kill $server_pid $dump_pid 2>/dev/null || true; rm -rf "$work"' EXIT
node -e "
const http2 = require('node:http2');
const server = http2.createServer();
server.on('stream', (s) => s.respond({ ':status': 200 }) || s.end());
server.listen($port, '127.0.0.1', () => console.log('ready'));
" > "$work/server.log" &
server_pid=$!
tcpdump -i lo -U -w probe.pcap "tcp port $port" 2>"$work/dump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q listening "$work/dump.log" && break; sleep 0.1; done
sleep 0.3
node -e "
const net = require('node:net');
let left = 3;
const probe = () => { const s = net.connect($port, '127.0.0.1', () => setTimeout(() => s.end(), 100)); s.on('close', () => { if (--left > 0) probe(); }); s.resume(); };
probe();
"
sleep 0.5
kill -INT $dump_pid; wait $dump_pid 2>/dev/null || true
echo "wrote probe.pcap ($(capinfos -c -M probe.pcap | awk '/Number of packets/ {print $NF}') packets)"
