#!/usr/bin/env bash
# Writes an AMQP 0-9-1 capture big enough to time to $1: amqplib publishes 250k small JSON
# messages with publisher confirms (in windows of 500) to a throwaway rabbitmq-server on a
# non-standard port while a consumer on a second connection receives and acks them. ~600k
# frames. Needs root (tcpdump on lo; the broker is started from the package's lib folder).
set -euo pipefail
out=$(realpath -m "${1:?usage: make-amqp-capture.sh OUT.pcap}")
cd "$(dirname "$0")/.."
PORT=${PORT:-15698}
tmp=$(mktemp -d)
server=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin | head -1)/rabbitmq-server
ctl=$(dirname "$server")/rabbitmqctl
export HOME=$tmp RABBITMQ_MNESIA_BASE=$tmp/mnesia RABBITMQ_LOG_BASE=$tmp/log \
  RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$((PORT + 20000)) RABBITMQ_NODENAME=tap-bench-$$@localhost \
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_ENABLED_PLUGINS_FILE=$tmp/enabled_plugins
echo '[].' >"$tmp/enabled_plugins"
epmd_before=$(pgrep -x epmd || true)
"$server" >"$tmp/server.log" 2>&1 &
srv=$!
td=
cleanup() {
  [ -n "$td" ] && kill -INT "$td" 2>/dev/null || true
  "$ctl" -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill "$srv" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -z "$epmd_before" ]; then for p in $(pgrep -x epmd || true); do kill "$p"; done; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 120); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.25; done
tcpdump -i lo -B 65536 -w "$out" --immediate-mode -U "tcp port $PORT" 2>"$tmp/tcpdump.log" &
td=$!
sleep 0.5
PORT=$PORT node --input-type=module -e '
import amqp from "amqplib";
const url = { hostname: "127.0.0.1", port: Number(process.env.PORT) };
const TOTAL = 250000, WINDOW = 500;
const pub = await amqp.connect(url);
const sub = await amqp.connect(url);
const ch = await pub.createConfirmChannel();
await ch.assertQueue("bench", { durable: false });
const cons = await sub.createChannel();
await cons.prefetch(1000);
let received = 0;
const done = new Promise((resolve) => cons.consume("bench", (m) => { cons.ack(m); if (++received === TOTAL) resolve(); }));
for (let i = 0; i < TOTAL; i += WINDOW) {
  for (let j = i; j < i + WINDOW; j++) {
    ch.publish("", "bench", Buffer.from(JSON.stringify({ order: j, item: "book" })), { contentType: "application/json", messageId: `m-${j}` });
  }
  await ch.waitForConfirms();
}
await done;
await pub.close();
await sub.close();
'
sleep 0.3
kill -INT "$td"; wait "$td" || true
td=
grep -h 'dropped by kernel' "$tmp/tcpdump.log" >&2 || true
