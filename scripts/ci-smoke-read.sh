#!/usr/bin/env bash
# The checkout flow must call /api/orders, and nothing may answer 5xx (docs/ci.md).
set -u
capture=${1:?usage: ci-smoke-read.sh CAPTURE}
kubectl tap read "$capture" -q \
  --wait-for 'request.method = "POST" and request.path = "/api/orders" and response.status = 201' \
  --fail-on 'response.status >= 500' \
  --summary-json smoke-summary.json > smoke-entries.ndjson
code=$?
case $code in
  0) echo "smoke test passed" ;;
  3) echo "smoke test failed: POST /api/orders was never called" ;;
  4) echo "smoke test failed: a server error: $(jq -r .outcome.matched.summary smoke-summary.json)" ;;
  *) echo "smoke test could not run (exit $code)" ;;
esac
exit $code
