#!/usr/bin/env bash
# Records the HTTP/1.x captures in testdata/http1 from real traffic: a real node `http`
# server (server.mjs, which logs every request it serves: the ground truth) and real clients
# (clients.mjs: node http, curl, raw pipelining socket; wrk), all inside network namespaces
# this script creates (names prefixed tapt-), so no traffic leaves them. Then derives each
# NAME.expected.json from the server's log and tshark (derive-expected.mjs).
#
# Usage (root): bash testdata/http1/record.sh [NAME...]   (default: every capture)
# Idempotent: rerunning replaces the captures; everything it creates is removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespaces, tcpdump)" >&2; exit 1; }
for tool in tcpdump tshark mergecap curl wrk python3 node; do
  command -v "$tool" >/dev/null || { echo "record.sh: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tapt-http1.XXXXXX)
NAMESPACES=(tapt-ec tapt-es tapt-vc tapt-vb tapt-vs tapt-ic tapt-ib tapt-is tapt-lo)
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fresh_ns() { # fresh_ns NAME: a new namespace with lo up (removes a leftover first)
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"
  ip netns exec "$1" ip link set lo up
}

veth_pair() { # veth_pair NS_A IF_A NS_B IF_B: a veth between two namespaces, up, no IPv6 noise
  ip link add "$2" type veth peer name "$4"
  ip link set "$2" netns "$1"
  ip link set "$4" netns "$3"
  for side in "$1:$2" "$3:$4"; do
    ip netns exec "${side%%:*}" sysctl -qw "net.ipv6.conf.${side#*:}.disable_ipv6=1"
    ip netns exec "${side%%:*}" ip link set "${side#*:}" up
  done
}

wait_for() { # wait_for FILE PATTERN: up to 10 s for PATTERN to appear in FILE
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "record.sh: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

start_server() { # start_server NS HOST PORT LOG [RAW_PORT]
  local out="$WORK/server-$3.out"
  ip netns exec "$1" node "$HERE/server.mjs" --host "$2" --port "$3" --log "$4" ${5:+--raw-port "$5"} >"$out" 2>&1 &
  PIDS+=($!)
  SERVER_PID=$!
  wait_for "$out" listening
}

stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_tcpdump() { # start_tcpdump NS FILE TCPDUMP_ARGS...
  local ns=$1 file=$2; shift 2
  local err="$WORK/tcpdump-$(basename "$file").err"
  # IMMEDIATE=no for load (wrk): buffered delivery keeps up where per-packet wakeups drop.
  local immediate=--immediate-mode
  [ "${IMMEDIATE:-yes}" = no ] && immediate=
  ip netns exec "$ns" tcpdump $immediate -U -B 65536 -w "$file" "$@" >"$err" 2>&1 &
  PIDS+=($!)
  TCPDUMP_PID=$!
  TCPDUMP_ERR=$err
  wait_for "$err" 'listening on'
}

stop_tcpdump() { # give it time to flush, stop with SIGINT, refuse a capture with kernel drops
  sleep 0.3
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || true
  if grep -qE '^[1-9][0-9]* packets dropped by kernel' "$TCPDUMP_ERR"; then
    echo "record.sh: tcpdump dropped packets:" >&2; cat "$TCPDUMP_ERR" >&2; exit 1
  fi
}

clients() { # clients NS ARGS...
  local ns=$1; shift
  ip netns exec "$ns" node "$HERE/clients.mjs" "$@"
}

derive() { node "$HERE/derive-expected.mjs" "$@"; }

one_segment_per_frame() { # NS:IF...: no GSO super-frames, which a packet-socket bridge cannot write
  for side in "$@"; do
    ip netns exec "${side%%:*}" ip link set "${side#*:}" gso_max_segs 1 gso_max_size 1500
  done
}

start_bridge() { # start_bridge NS IF_A IF_B NAME IMPAIR_ARGS...: impair.py, stats to NAME.bridge-stats.json
  local ns=$1 a=$2 b=$3 name=$4; shift 4
  rm -f "$WORK/bridge.stop"
  ip netns exec "$ns" python3 "$HERE/impair.py" "$a" "$b" --max-seconds 120 \
    --stop-file "$WORK/bridge.stop" --stats-file "$HERE/$name.bridge-stats.json" "$@" &
  PIDS+=($!)
  BRIDGE_PID=$!
  sleep 0.5
}

stop_bridge() { touch "$WORK/bridge.stop"; wait "$BRIDGE_PID" || true; }

# a. Ethernet between two namespaces; every kind of exchange; capture on the client's veth.
rec_ethernet_mixed() {
  fresh_ns tapt-ec; fresh_ns tapt-es
  veth_pair tapt-ec tapt-ec0 tapt-es tapt-es0
  ip netns exec tapt-ec ip addr add 10.77.0.2/24 dev tapt-ec0
  ip netns exec tapt-es ip addr add 10.77.0.1/24 dev tapt-es0
  start_server tapt-es 10.77.0.1 8080 "$HERE/ethernet-mixed.truth.jsonl" 8088
  start_tcpdump tapt-ec "$HERE/ethernet-mixed.pcap" -i tapt-ec0 'tcp or arp'
  clients tapt-ec --scenario mixed --host 10.77.0.1 --port 8080 --raw-port 8088
  stop_tcpdump; stop_pid "$SERVER_PID"
  ip netns del tapt-ec; ip netns del tapt-es
  derive ethernet-mixed 8080 8088
}

# b, c, g. A few requests on a namespace's loopback, captured with the given tcpdump options.
rec_loopback() { # rec_loopback NAME HOST PORT TCPDUMP_ARGS...
  local name=$1 host=$2 port=$3; shift 3
  fresh_ns tapt-lo
  start_server tapt-lo "$host" "$port" "$HERE/$name.truth.jsonl"
  start_tcpdump tapt-lo "$HERE/$name.pcap" "$@" "tcp port $port"
  clients tapt-lo --scenario few --host "$host" --port "$port"
  stop_tcpdump; stop_pid "$SERVER_PID"
  ip netns del tapt-lo
  derive "$name" "$port"
}

# d. 802.1Q-tagged frames. This kernel has no VLAN module (no `type vlan` sub-interface), so
# the tags come from a SPAN-style mirror instead: client - bridge - server, the bridge
# (impair.py --no-impair) forwards the frames untouched and writes each one, tagged with
# VLAN 100, to a mirror veth where tcpdump listens, like a switch's monitor port on a trunk.
rec_vlan() {
  fresh_ns tapt-vc; fresh_ns tapt-vb; fresh_ns tapt-vs
  veth_pair tapt-vc tapt-vc0 tapt-vb tapt-vb0
  veth_pair tapt-vb tapt-vb1 tapt-vs tapt-vs0
  veth_pair tapt-vb tapt-vm0 tapt-vb tapt-vm1
  one_segment_per_frame tapt-vc:tapt-vc0 tapt-vb:tapt-vb0 tapt-vb:tapt-vb1 tapt-vs:tapt-vs0
  ip netns exec tapt-vc ip addr add 10.77.1.2/24 dev tapt-vc0
  ip netns exec tapt-vs ip addr add 10.77.1.1/24 dev tapt-vs0
  start_bridge tapt-vb tapt-vb0 tapt-vb1 vlan --no-impair --mirror tapt-vm0 --mirror-vlan 100
  start_server tapt-vs 10.77.1.1 8085 "$HERE/vlan.truth.jsonl"
  start_tcpdump tapt-vb "$HERE/vlan.pcap" -i tapt-vm1 'vlan and tcp port 8085'
  clients tapt-vc --scenario few --host 10.77.1.1 --port 8085
  stop_tcpdump; stop_pid "$SERVER_PID"; stop_bridge
  ip netns del tapt-vc; ip netns del tapt-vb; ip netns del tapt-vs
  derive vlan 8085
}

# e. client - bridge - server; the bridge (impair.py) drops, delays and duplicates frames.
rec_impaired() {
  fresh_ns tapt-ic; fresh_ns tapt-ib; fresh_ns tapt-is
  veth_pair tapt-ic tapt-ic0 tapt-ib tapt-ib0
  veth_pair tapt-ib tapt-ib1 tapt-is tapt-is0
  one_segment_per_frame tapt-ic:tapt-ic0 tapt-ib:tapt-ib0 tapt-ib:tapt-ib1 tapt-is:tapt-is0
  ip netns exec tapt-ic ip addr add 10.77.2.2/24 dev tapt-ic0
  ip netns exec tapt-is ip addr add 10.77.2.1/24 dev tapt-is0
  start_bridge tapt-ib tapt-ib0 tapt-ib1 impaired --seed 3
  start_server tapt-is 10.77.2.1 8086 "$HERE/impaired.truth.jsonl"
  start_tcpdump tapt-is "$HERE/impaired.pcap" -i tapt-is0 'tcp port 8086'
  clients tapt-ic --scenario impaired --host 10.77.2.1 --port 8086 --seed 11
  sleep 1 # the last FIN/ACK exchanges may need a retransmission
  stop_tcpdump; stop_pid "$SERVER_PID"; stop_bridge
  ip netns del tapt-ic; ip netns del tapt-ib; ip netns del tapt-is
  derive impaired 8086
}

# f. A keep-alive connection that began before the capture did.
rec_midstream() {
  fresh_ns tapt-lo
  start_server tapt-lo 127.0.0.1 8087 "$HERE/midstream.truth.jsonl"
  rm -f "$WORK/mid.go"
  ip netns exec tapt-lo node "$HERE/clients.mjs" --scenario midstream --host 127.0.0.1 --port 8087 \
    --wait-file "$WORK/mid.go" >"$WORK/mid.out" 2>&1 &
  PIDS+=($!)
  local client=$!
  wait_for "$WORK/mid.out" phase1-done
  start_tcpdump tapt-lo "$HERE/midstream.pcap" -i lo 'tcp port 8087'
  touch "$WORK/mid.go"
  wait "$client"
  stop_tcpdump; stop_pid "$SERVER_PID"
  ip netns del tapt-lo
  derive midstream 8087
}

# g. Two interfaces with different link types (and time resolutions) in one pcapng.
rec_multi_interface() {
  mergecap -F pcapng -w "$HERE/multi-interface.pcapng" "$HERE/nanosecond.pcap" "$HERE/any-sll2.pcap"
  cat "$HERE/nanosecond.truth.jsonl" "$HERE/any-sll2.truth.jsonl" >"$HERE/multi-interface.truth.jsonl"
  derive multi-interface 8084 8081
}

# h. wrk load, bounded to ~2000 transactions by a lua script that stops the thread.
rec_wrk() {
  fresh_ns tapt-lo
  start_server tapt-lo 127.0.0.1 8089 "$HERE/wrk.truth.jsonl"
  IMMEDIATE=no start_tcpdump tapt-lo "$HERE/wrk.pcap" -i lo 'tcp port 8089'
  ip netns exec tapt-lo wrk -t1 -c8 -d10s -s "$HERE/wrk-bounded.lua" http://127.0.0.1:8089/ka/wrk >"$WORK/wrk.out" 2>&1
  sleep 0.5 # let the server finish and log the last requests
  stop_tcpdump; stop_pid "$SERVER_PID"
  ip netns del tapt-lo
  derive wrk 8089
}

record() {
  case "$1" in
    ethernet-mixed) rec_ethernet_mixed ;;
    any-sll2) rec_loopback any-sll2 127.0.0.1 8081 -i any ;;
    any-sll) rec_loopback any-sll 127.0.0.1 8082 -i any -y LINUX_SLL ;;
    ipv6) rec_loopback ipv6 ::1 8083 -i lo ;;
    nanosecond) rec_loopback nanosecond 127.0.0.1 8084 -i lo --time-stamp-precision=nano ;;
    vlan) rec_vlan ;;
    impaired) rec_impaired ;;
    midstream) rec_midstream ;;
    multi-interface) rec_multi_interface ;;
    wrk) rec_wrk ;;
    *) echo "record.sh: unknown capture $1" >&2; exit 1 ;;
  esac
  echo "recorded $1" >&2
}

ALL=(ethernet-mixed any-sll2 any-sll ipv6 nanosecond vlan impaired midstream multi-interface wrk)
for name in "${@:-${ALL[@]}}"; do record "$name"; done
chown root:root "$HERE"/*.pcap "$HERE"/*.pcapng 2>/dev/null || true
