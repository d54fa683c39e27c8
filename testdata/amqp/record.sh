#!/usr/bin/env bash
# Records session.pcap: amqplib (session.ts) against a throwaway rabbitmq-server 3.10 on a
# non-standard port. Needs root (tcpdump on lo; the broker is started from the package's lib
# folder, since the wrapper on PATH switches user). Usage: bash testdata/amqp/record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-15699}
tmp=$(mktemp -d)
server=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin | head -1)/rabbitmq-server
ctl=$(dirname "$server")/rabbitmqctl
export HOME=$tmp RABBITMQ_MNESIA_BASE=$tmp/mnesia RABBITMQ_LOG_BASE=$tmp/log \
  RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$((PORT + 20000)) RABBITMQ_NODENAME=tap-amqp-$$@localhost \
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_ENABLED_PLUGINS_FILE=$tmp/enabled_plugins
echo '[].' >"$tmp/enabled_plugins"
epmd_before=$(pgrep -x epmd || true)
"$server" >"$tmp/server.log" 2>&1 &
srv=$!
cleanup() {
  "$ctl" -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  # The broker starts an epmd daemon; stop it unless one was already running.
  if [ -z "$epmd_before" ]; then for p in $(pgrep -x epmd || true); do kill "$p"; done; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 120); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.25; done

tcpdump -i lo -w "$here/session.pcap" --immediate-mode -U "tcp port $PORT" 2>/dev/null &
td=$!
sleep 0.5
(cd "$here/../.." && node --import tsx testdata/amqp/session.ts "$PORT")
sleep 0.3
kill -INT "$td"; wait "$td" || true
# A capture joined mid-connection: the same session from its 45th packet on.
editcap -r "$here/session.pcap" "$here/session-midstream.pcap" 45-100000
ls -l "$here"/*.pcap
