#!/usr/bin/env bash
# A smoke test against a running cluster (docs/ci.md): within 60 s a checkout must succeed,
# and no call may fail with a server error. KUBECONFIG says which cluster.
set -u
namespace=${1:-shop}
kubectl tap -n "$namespace" -q --duration 60s \
  --wait-for 'request.path = "/checkout" and response.status = 200' \
  --fail-on 'response.status >= 500 or (protocol = "grpc" and response.grpcStatus > 0)' \
  --summary-json smoke-summary.json --service-map smoke-map.svg > smoke-entries.ndjson
code=$?
case $code in
  0) echo "smoke test passed: $(jq -r .outcome.matched.summary smoke-summary.json)" ;;
  3) echo "smoke test failed: no successful checkout within 60 s" ;;
  4) echo "smoke test failed: a server error: $(jq -r .outcome.matched.summary smoke-summary.json)" ;;
  *) echo "smoke test could not run (exit $code)" ;;
esac
exit $code
