#!/usr/bin/env bash
# Makes the HTTP/1.1 benchmark capture: wrk (keep-alive) against a tiny raw `net` HTTP
# responder on the loopback of a private network namespace, recorded by tcpdump until it has
# PACKETS packets (default 1,000,000: at two to three packets per transaction that is well
# over 100k transactions). A raw responder rather than node's http server so the load
# generator, not the server, sets the pace. Prints the packet and transaction counts.
#
# Usage (root): bash bench/make-http1-capture.sh OUT.pcap [PACKETS]
set -euo pipefail

OUT=${1:?usage: make-http1-capture.sh OUT.pcap [PACKETS]}
PACKETS=${2:-1000000}
PORT=18080
NS=tapt-bench-http1
[ "$(id -u)" = 0 ] || { echo "make-http1-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
for tool in tcpdump wrk capinfos tshark node; do
  command -v "$tool" >/dev/null || { echo "make-http1-capture.sh: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tapt-bench-http1.XXXXXX)
PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"

# Answers every complete request head (wrk sends GETs without bodies) with a canned response.
cat >"$WORK/responder.mjs" <<'EOF'
import net from 'node:net';
const body = '{"ok":true,"items":[1,2,3]}';
const response = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
net.createServer((sock) => {
  let tail = '';
  sock.on('data', (d) => {
    const text = tail + d.toString('latin1');
    let n = 0;
    let at = text.indexOf('\r\n\r\n');
    let end = 0;
    while (at >= 0) { n++; end = at + 4; at = text.indexOf('\r\n\r\n', end); }
    tail = text.slice(end).slice(-8192);
    if (n === 1) sock.write(response);
    else if (n > 1) sock.write(Buffer.concat(Array(n).fill(response)));
  });
  sock.on('error', () => {});
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));
EOF
ip netns exec "$NS" node "$WORK/responder.mjs" "$PORT" >"$WORK/responder.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/responder.out" && break; sleep 0.1; done

# Buffered (not --immediate-mode) with a 256 MiB kernel buffer so tcpdump keeps up; -c stops it.
ip netns exec "$NS" tcpdump -i lo -B 262144 -c "$PACKETS" -w "$OUT" "tcp port $PORT" >"$WORK/tcpdump.err" 2>&1 &
TCPDUMP=$!
PIDS+=($TCPDUMP)
for _ in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump.err" && break; sleep 0.1; done

# Bounded: wrk runs at most 120 s; tcpdump normally has its packets long before.
ip netns exec "$NS" wrk -t1 -c16 -d120s "http://127.0.0.1:$PORT/api/items?page=1" >"$WORK/wrk.out" 2>&1 &
WRK=$!
PIDS+=($WRK)
wait "$TCPDUMP" || true
kill -INT "$WRK" 2>/dev/null || true
wait "$WRK" 2>/dev/null || true
grep -E 'packets (captured|dropped)' "$WORK/tcpdump.err" >&2 || true
if grep -qE '^[1-9][0-9]* packets dropped by kernel' "$WORK/tcpdump.err"; then
  echo "make-http1-capture.sh: WARNING: tcpdump dropped packets; some transactions are incomplete" >&2
fi

packets=$(capinfos -c -M "$OUT" | awk -F': *' '/Number of packets/ {print $2}')
# One request per segment (wrk waits for each response before the next on a connection), so
# client-to-server segments with payload count the requests; counted without the HTTP
# dissector, which is slow on a million packets.
requests=$(tshark -n -r "$OUT" --disable-protocol http -Y "tcp.dstport==$PORT && tcp.len>0" -T fields -e frame.number | wc -l)
responses=$(tshark -n -r "$OUT" --disable-protocol http -Y "tcp.srcport==$PORT && tcp.len>0" -T fields -e frame.number | wc -l)
echo "$OUT: $packets packets, $requests HTTP/1.1 requests, $responses response segments, $(du -h "$OUT" | cut -f1)"
