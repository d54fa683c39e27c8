#!/usr/bin/env bash
# Writes a capture of many gRPC unary calls to $1 for `make bench`: a real @grpc/grpc-js
# server (testdata/grpc/protos, shop.v1.Cart/AddItem) loaded by h2load with gRPC-framed POSTs
# (content-type application/grpc, te: trailers) on 4 connections, 50 concurrent streams each.
set -euo pipefail
out=${1:?usage: make-grpc-capture.sh OUT.pcap}
calls=${CALLS:-400000}
port=${PORT:-50071}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $server_pid $dump_pid 2>/dev/null || true; rm -rf "$work"' EXIT
# One AddItemRequest {user: "alice", item: {sku: "sku-1", quantity: 3}} with its 5-byte gRPC prefix.
node -e "
const pb=require('protobufjs');const root=new pb.Root();root.resolvePath=(o,t)=>t.startsWith('google/')?t:require('path').join('$root/testdata/grpc/protos',t);
root.loadSync('shop/v1/cart.proto');const T=root.lookupType('shop.v1.AddItemRequest');
const m=T.encode({user:'alice',item:{sku:'sku-1',quantity:3}}).finish();const p=Buffer.alloc(5);p.writeUInt32BE(m.length,1);
require('fs').writeFileSync('$work/req.bin',Buffer.concat([p,m]));"
cat > "$work/server.mjs" <<JS
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
const def = loader.loadSync('shop/v1/cart.proto', { includeDirs: ['$root/testdata/grpc/protos'] });
const shop = grpc.loadPackageDefinition(def).shop.v1;
const server = new grpc.Server();
server.addService(shop.Cart.service, { AddItem: (call, cb) => cb(null, { cart_id: 'cart-' + call.request.user, item_count: 3 }) });
server.bindAsync('127.0.0.1:$port', grpc.ServerCredentials.createInsecure(), () => console.log('ready'));
JS
# Run from the repository so that @grpc/grpc-js resolves from its node_modules.
(cd "$root" && exec node --input-type=module -e "$(cat "$work/server.mjs")" >"$work/server.log" 2>&1) &
server_pid=$!
tcpdump -i lo -B 65536 -w "$out" --immediate-mode -U "tcp port $port" 2>"$work/dump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q ready "$work/server.log" 2>/dev/null && grep -q listening "$work/dump.log" && break; sleep 0.1; done
h2load -n "$calls" -c 4 -m 50 -d "$work/req.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:$port/shop.v1.Cart/AddItem" >/dev/null
sleep 0.3
kill -INT $dump_pid; wait $dump_pid 2>/dev/null || true
echo "wrote $out ($calls gRPC calls)" >&2
