#!/usr/bin/env bash
# Records the Redis captures in this folder from a throwaway redis-server (7.x) on a
# non-standard port, driven by redis-cli, redis-benchmark and a raw bash /dev/tcp session.
# Needs root (tcpdump on lo). Usage: bash testdata/redis/record.sh [capture name...] (default all)
set -euo pipefail
cd "$(dirname "$0")"
PORT=${PORT:-16391}
tmp=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --enable-debug-command yes >"$tmp/log" 2>&1 &
srv=$!
cleanup() { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

wanted=" ${*:-all} "
# record NAME COMMAND...: capture the server port while COMMAND runs (if NAME was asked for).
record() {
  local name=$1; shift
  [[ $wanted == *" all "* || $wanted == *" $name "* ]] || return 0
  tcpdump -i lo -w "$name.pcap" --immediate-mode -U "tcp port $PORT" 2>/dev/null &
  local td=$!
  sleep 0.5
  "$@"
  sleep 0.3
  kill -INT "$td"; wait "$td" || true
}

redis-cli -p "$PORT" flushall >/dev/null

# RESP2 commands, one connection, one at a time.
commands() {
  redis-cli -p "$PORT" >/dev/null <<'CMDS'
SET user:1 alice
GET user:1
GET missing:key
HSET user:2 name bob age 30
HGETALL user:2
LPUSH queue a b c
LRANGE queue 0 -1
INCR counter
INCRBYFLOAT ratio 1.5
LPUSH user:1 x
MULTI
SET tx:1 one
INCR tx:counter
EXEC
AUTH admin s3cret-password
MGET user:1 missing:key
DEL user:1 queue
EXISTS user:1
CMDS
}
record commands commands

# Inline commands and a binary-safe RESP argument, straight over a socket.
inline() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf 'PING\r\nSET inline:key "hello world"\r\nGET inline:key\r\n' >&3
  sleep 0.2
  printf '*3\r\n$3\r\nSET\r\n$7\r\nbin:key\r\n$4\r\n\x00\xff\x01\x02\r\n*2\r\n$3\r\nGET\r\n$7\r\nbin:key\r\n' >&3
  sleep 0.2
  printf 'QUIT\r\n' >&3
  sleep 0.2
  exec 3<&- 3>&-
}
record inline inline

# Pipelined: 16 commands in flight per connection, 2 connections.
record pipeline redis-benchmark -p "$PORT" -P 16 -c 2 -n 480 -t set,get,lpush -q >/dev/null

# RESP3 (redis-cli -3 starts with HELLO 3): maps, sets, doubles, and every type DEBUG PROTOCOL knows.
resp3() {
  redis-cli -3 -p "$PORT" >/dev/null <<'CMDS'
HELLO 3 AUTH default s3cret-password
HSET user:3 name carol age 41
HGETALL user:3
SADD tags red green
SMEMBERS tags
ZADD scores 1.5 carol
ZSCORE scores carol
DEBUG PROTOCOL string
DEBUG PROTOCOL integer
DEBUG PROTOCOL double
DEBUG PROTOCOL null
DEBUG PROTOCOL array
DEBUG PROTOCOL set
DEBUG PROTOCOL map
DEBUG PROTOCOL push
DEBUG PROTOCOL verbatim
DEBUG PROTOCOL true
DEBUG PROTOCOL false
GET missing:key
CMDS
  # redis-cli cannot print attribute and big number replies, so those go over a raw socket.
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n' >&3
  sleep 0.2
  printf '*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$6\r\nattrib\r\n' >&3
  printf '*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$6\r\nbignum\r\n' >&3
  sleep 0.2
  exec 3<&- 3>&-
}
record resp3 resp3

# Pub/sub: a RESP2 subscriber, a RESP3 pattern subscriber, a publisher.
pubsub() {
  redis-cli -p "$PORT" SUBSCRIBE news >/dev/null &
  local s1=$!
  redis-cli -3 -p "$PORT" PSUBSCRIBE 'alert.*' >/dev/null &
  local s2=$!
  sleep 0.4
  redis-cli -p "$PORT" PUBLISH news 'first story' >/dev/null
  redis-cli -p "$PORT" PUBLISH alert.disk 'disk 91%' >/dev/null
  redis-cli -p "$PORT" PUBLISH news 'second story' >/dev/null
  sleep 0.3
  kill "$s1" "$s2"; wait "$s1" "$s2" 2>/dev/null || true
}
record pubsub pubsub

# A 100 KiB value set and read back (the tests cut it with a small --max-body).
big() {
  head -c 76800 /dev/urandom | base64 -w 0 >"$tmp/big.txt"
  redis-cli -p "$PORT" -x SET big:value <"$tmp/big.txt" >/dev/null
  redis-cli -p "$PORT" GET big:value >/dev/null
  redis-cli -p "$PORT" STRLEN big:value >/dev/null
}
record big big

# A capture joined mid-connection: the pipelined one from its 100th packet on.
[[ $wanted == *" all "* || $wanted == *" pipeline "* ]] && editcap -r pipeline.pcap pipeline-midstream.pcap 100-100000
ls -l ./*.pcap
