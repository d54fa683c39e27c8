#!/usr/bin/env bash
# Makes the TLS-handshake benchmark capture: a node tls server with a throw-away self-signed
# certificate in a private network namespace, and a node client making HANDSHAKES new
# connections (TLS 1.3 and 1.2 alternately, SNI and ALPN set), each closed after the
# handshake. Port 18443, so tshark needs `-d tcp.port==18443,tls`.
# Usage (root): bash bench/make-tls-capture.sh OUT.pcap [HANDSHAKES]
set -euo pipefail
OUT=${1:?usage: make-tls-capture.sh OUT.pcap [HANDSHAKES]}
HANDSHAKES=${2:-200000}
NS=tapt-bench-tls$$
[ "$(id -u)" = 0 ] || { echo "make-tls-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
WORK=$(mktemp -d)
cleanup() {
  set +e
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
  sleep 0.3
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=api.shop.example' \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$(dirname "$OUT")"
ip netns exec "$NS" node -e "
const tls = require('node:tls'), fs = require('node:fs');
tls.createServer({ key: fs.readFileSync('$WORK/key.pem'), cert: fs.readFileSync('$WORK/cert.pem'), ALPNProtocols: ['h2', 'http/1.1'] },
  (s) => { s.on('error', () => {}); s.end(); }).listen(18443, '127.0.0.1', () => console.error('server ready'));
" &
sleep 0.7
ip netns exec "$NS" tcpdump -i lo -B 65536 -w "$OUT" -U 'tcp port 18443' 2>"$WORK/dump.log" & TCPDUMP=$!
for _ in $(seq 50); do grep -q listening "$WORK/dump.log" && break; sleep 0.1; done
ip netns exec "$NS" node -e "
const tls = require('node:tls');
let left = $HANDSHAKES, running = 0;
function one() {
  if (left <= 0) return;
  left--; running++;
  const v = left % 2 ? 'TLSv1.3' : 'TLSv1.2';
  const s = tls.connect({ host: '127.0.0.1', port: 18443, servername: 'api.shop.example', ALPNProtocols: ['h2', 'http/1.1'],
    rejectUnauthorized: false, minVersion: v, maxVersion: v }, () => s.end());
  s.on('error', () => {});
  s.on('close', () => { running--; one(); });
}
for (let i = 0; i < 8; i++) one();
"
sleep 0.5
kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
tail -3 "$WORK/dump.log" >&2
echo "wrote $OUT ($HANDSHAKES handshakes)"
