#!/usr/bin/env bash
# Property-based API testing: schemathesis generates requests for every operation of the
# running server's own /openapi.json and checks the answers against it: no 5xx, only
# documented status codes and content types, bodies matching their schemas, valid requests
# accepted and invalid ones refused (`--checks all`).
#
#   tests/api/schemathesis.sh          (after scripts/setup.sh; about two minutes)
#
# Starts a real `onboard serve` (ONBOARD_BIN, default target/debug/onboard) with the
# embedded database in a temporary directory, a known key and no rate limit, and stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
venv="$root/.tools/venv"
[[ -x "$venv/bin/schemathesis" ]] || { echo "schemathesis missing: run scripts/setup.sh" >&2; exit 1; }
bin="${ONBOARD_BIN:-$root/target/debug/onboard}"
[[ -n "${ONBOARD_BIN:-}" ]] || cargo build -q -p onboard

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="onb_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ONBOARD_BIND="127.0.0.1:$port" ONBOARD_DATA_DIR="$work/data" ONBOARD_API_KEY="$key" ONBOARD_RATE_LIMIT=0 \
  RUST_LOG=warn "$bin" serve > "$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

report="$root/target/schemathesis"
mkdir -p "$report"
set +e
# Every check, as an integrator would run it; tests/api/schemathesis.toml lists the answers
# that depend on state the generator cannot see. One worker: with two, CPython 3.11's
# ast.parse races in hypothesis' lambda descriptions ("AST constructor recursion depth
# mismatch") and aborts operations at random.
"$venv/bin/schemathesis" --config-file "$root/tests/api/schemathesis.toml" \
  run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all --exclude-checks ensure_resource_availability \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-120}" --max-time "${SCHEMATHESIS_MAX_TIME:-150}" \
  --seed "${SCHEMATHESIS_SEED:-20261123}" --workers 1 --no-color \
  --report junit --report-dir "$report" 2>&1 | tee "$report/output.txt"
status=${PIPESTATUS[0]}
set -e
# At least 1,000 generated cases in total, or the run proved too little.
cases="$(grep -oE '[0-9]+ generated' "$report/output.txt" | tail -1 | cut -d' ' -f1)"
if ((${cases:-0} < 1000)); then
  echo "schemathesis generated only ${cases:-0} cases (want >= 1000)" >&2
  status=1
fi
echo "schemathesis: ${cases:-0} cases, exit $status"
# A panic inside a handler is a bug even if the client saw a tidy 500.
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A3 "panicked" "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"
