#!/usr/bin/env bash
# Records testdata/mixed/mixed.pcap: several protocols at once on non-standard loopback
# ports, plus TCP noise that is none of them:
#   redis-server 16379 (redis-cli: SET, GET, INCR, DEL), HTTP 18080 (node, two GETs),
#   Kafka 19093 (kafkajs against stand-in-broker.mjs: ApiVersions, Metadata, 2x Produce),
#   TLS 18444 (node tls), DNS 15300 (dig -> dnsmasq, one UDP query, one TCP query),
#   noise: random bytes 17001, SSH-like 17002, SMTP-like line protocol 17003.
# Needs root (tcpdump on lo), redis-server, redis-cli, dnsmasq, dig, openssl, node.
# Usage: bash testdata/mixed/record.sh [output.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kafka=$(cd "$here/../kafka" && pwd)
out=${1:-$here/mixed.pcap}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=shop.example 2>/dev/null
redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$work" >/dev/null & pids+=($!)
node "$kafka/stand-in-broker.mjs" 19093 >/dev/null & pids+=($!)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=15300 --listen-address=127.0.0.1 --bind-interfaces \
  --pid-file="$work/dnsmasq.pid" --user=root --group=root --address=/shop.example/10.0.0.5 & pids+=($!)
sleep 0.7
tcpdump -i lo -w "$out" --immediate-mode -U 'port 16379 or port 18080 or port 19093 or port 18444 or port 15300 or port 17001 or port 17002 or port 17003' 2>/dev/null & tcpdump_pid=$!
sleep 0.7
redis-cli -p 16379 SET cart:1 '{"items":2}' >/dev/null
redis-cli -p 16379 GET cart:1 >/dev/null
redis-cli -p 16379 INCR visits >/dev/null
redis-cli -p 16379 DEL cart:1 >/dev/null
node "$kafka/kafkajs-client.mjs" 19093
dig @127.0.0.1 -p 15300 +tries=1 +time=2 api.shop.example A >/dev/null
dig @127.0.0.1 -p 15300 +tries=1 +time=2 +tcp web.shop.example A >/dev/null
node "$here/traffic.mjs" "$work"
sleep 0.3
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
echo "wrote $out"
