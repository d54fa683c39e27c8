#!/usr/bin/env bash
# Records the captures in this folder from real traffic (node HTTP server/client and UDP
# sockets from traffic.mjs) and writes each one's expected.json from tshark's view of it.
# Needs root (tcpdump, network namespaces), tcpdump, tshark, dumpcap, mergecap, editcap.
# Only loopback and the namespaces created here carry traffic.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
T="node $HERE/traffic.mjs"
NS_A=capA-left
NS_B=capA-right
BG_PIDS=()

cleanup() {
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del $NS_A 2>/dev/null || true
  ip netns del $NS_B 2>/dev/null || true
}
trap cleanup EXIT

# start_capture FILE ARGS... (prefix with "ip netns exec NS" through $IN_NS)
start_capture() {
  local file=$1; shift
  rm -f "$file" "$file.log"
  ${IN_NS:-} tcpdump --immediate-mode -U -w "$file" "$@" 2>"$file.log" &
  CAP_PID=$!
  for _ in $(seq 50); do grep -q 'listening on' "$file.log" 2>/dev/null && break; sleep 0.1; done
}
stop_capture() {
  sleep 0.3
  kill -INT "$CAP_PID"; wait "$CAP_PID" || true
  rm -f "$1.log"
}
# start_server NS-PREFIX ARGS...: waits for the "ready" line
start_server() {
  local log; log=$(mktemp)
  "$@" >"$log" &
  BG_PIDS+=($!)
  SERVER_PID=$!
  for _ in $(seq 50); do grep -q ready "$log" && break; sleep 0.1; done
  rm -f "$log"
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# --- loopback captures: Ethernet (IPv4 and IPv6), SLL2 (-i any), SLL, nanosecond ---
lo_capture() { # FILE PORT TCPDUMP-ARGS...
  local file=$1 port=$2; shift 2
  start_server $T http-server :: "$port"
  start_capture "$file" "$@" "tcp port $port"
  $T http-client "$port" 127.0.0.1 ::1
  stop_capture "$file"
  stop_server
}
lo_capture lo-ethernet.pcap 18081 -i lo
lo_capture any-sll2.pcap 18082 -i any
lo_capture any-sll.pcap 18083 -i any -y LINUX_SLL
lo_capture lo-nano.pcap 18084 -i lo --time-stamp-precision=nano

# --- pcapng: dumpcap's own output (SHB, IDB, EPB, ISB), and a merge of several link types ---
start_server $T http-server :: 18085
rm -f lo-dumpcap.pcapng
dumpcap -q -i lo -f 'tcp port 18085' -w lo-dumpcap.pcapng 2>/dev/null &
CAP_PID=$!
sleep 1.5
$T http-client 18085 127.0.0.1
stop_capture lo-dumpcap.pcapng
stop_server
mergecap -F pcapng -w multi-interface.pcapng any-sll2.pcap lo-nano.pcap lo-ethernet.pcap

# --- big-endian pcap and pcapng: real captures with every header byte-swapped; and a
# pcapng with two sections of different byte orders ---
node transform.mjs big-endian-pcap lo-ethernet.pcap lo-bigendian.pcap
node transform.mjs big-endian-pcapng lo-dumpcap.pcapng lo-dumpcap-bigendian.tmp
cat lo-dumpcap.pcapng lo-dumpcap-bigendian.tmp >two-sections.pcapng
rm -f lo-dumpcap-bigendian.tmp

# --- VLAN tags. This machine's kernel has neither 8021q nor bridge support, so the
# namespace + vlan-device recipe cannot run here; instead lo-ethernet.pcap's real frames get
# tags inserted: odd frames one 802.1Q tag (VID 100), even frames QinQ (802.1ad VID 200
# outside, 802.1Q VID 300 inside). Everything after the MAC addresses is untouched.
node transform.mjs vlan-tags lo-ethernet.pcap vlan.pcap

# --- IP fragments: two namespaces joined by a veth pair (MTU 1500), 4000-byte UDP datagrams ---
ip netns add $NS_A; ip netns add $NS_B
ip link add capA0 netns $NS_A type veth peer name capA1 netns $NS_B
A="ip netns exec $NS_A"; B="ip netns exec $NS_B"
for side in "$NS_A capA0 1" "$NS_B capA1 2"; do
  set -- $side; ns=$1 dev=$2 n=$3; X="ip netns exec $ns"
  $X ip link set lo up
  $X ip link set "$dev" up mtu 1500
  $X ip addr add "10.9.0.$n/24" dev "$dev"
  $X ip addr add "fd00:9::$n/64" dev "$dev" nodad
done

start_server $B $T udp-recv :: 18087
IN_NS=$A start_capture fragments.pcap -i capA0 'udp or ip[6:2] & 0x3fff != 0 or ip6[6] == 44'
$A $T udp-send 10.9.0.2 18087 4000 3
$A $T udp-send fd00:9::2 18087 4000 3
stop_capture fragments.pcap
stop_server

# --- expected results: tshark's view of every capture (frames that carry TCP or UDP) ---
for f in *.pcap *.pcapng; do
  tshark -r "$f" -o ip.defragment:TRUE -o ipv6.defragment:TRUE -T fields -E separator=/t -E occurrence=f \
    -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport -e tcp.len -e udp.length >"$f.tshark.tsv" 2>/dev/null
  node -e '
const fs = require("fs");
const [file] = process.argv.slice(1);
const rows = fs.readFileSync(file + ".tshark.tsv", "utf8").trim().split("\n").map((l) => l.split("\t"));
const packets = rows
  .filter(([, , , , tcpPort, udpPort]) => tcpPort || udpPort)
  .map(([frame, epoch, ip4, ip6, tcpPort, udpPort, tcpLen, udpLen]) => ({
    frame: Number(frame), tsMicros: Number(epoch.split(".")[0]) * 1e6 + Number(epoch.split(".")[1].slice(0, 6)), srcIp: ip4 || ip6, transport: tcpPort ? "tcp" : "udp",
    srcPort: Number(tcpPort || udpPort), payloadLength: tcpPort ? Number(tcpLen) : Number(udpLen) - 8,
  }));
fs.writeFileSync(file.replace(/\.(pcap|pcapng)$/, ".expected.json"), JSON.stringify({ frames: rows.length, packets }, null, 1) + "\n");' "$f"
  rm -f "$f.tshark.tsv"
done
ls -l *.pcap *.pcapng
