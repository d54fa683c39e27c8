#!/usr/bin/env bash
# Records testdata/tls/handshakes.pcap: a node tls server on 127.0.0.1:18443 (self-signed
# certificate made on the fly) answering three real clients: node's tls.connect (TLS 1.3,
# SNI api.shop.example, ALPN h2,http/1.1), openssl s_client forced to TLS 1.2 with
# ECDHE-RSA-AES128-GCM-SHA256 (SNI legacy.shop.example), openssl s_client with no SNI, and
# openssl s_client whose ClientHello spans two records (-max_send_frag 512, FFDHE key share).
# handshakes.expected.json is then derived from tshark's reading of it (derive-expected.mjs).
# Usage: bash testdata/tls/record.sh   (needs tcpdump, openssl and tshark; root for tcpdump on lo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=shop.example 2>/dev/null
tcpdump -i lo -w "$here/handshakes.pcap" --immediate-mode -U 'tcp port 18443' 2>/dev/null & pids+=($!)
sleep 0.5
node "$here/server-and-node-client.mjs" "$work" &
server=$!; pids+=($server)
sleep 0.7
echo | openssl s_client -connect 127.0.0.1:18443 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername legacy.shop.example -alpn http/1.1 >/dev/null 2>&1 || true
echo | openssl s_client -connect 127.0.0.1:18443 -tls1_3 -noservername >/dev/null 2>&1 || true
# A ClientHello bigger than one record: a 4096-bit FFDHE key share with 512-byte records.
echo | openssl s_client -connect 127.0.0.1:18443 -tls1_3 -groups ffdhe4096:x25519 -max_send_frag 512 -servername split.shop.example >/dev/null 2>&1 || true
wait "$server"
sleep 0.3
kill -INT "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
# The ground truth, from tshark's dissection (not from our engine).
node "$here/derive-expected.mjs" "$here/handshakes.pcap" > "$here/handshakes.expected.json"
echo "wrote $here/handshakes.pcap and $here/handshakes.expected.json"
