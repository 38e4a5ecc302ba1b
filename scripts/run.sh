#!/usr/bin/env bash
# Sets up everything, builds the npm package, the page and the server, shows the rulebook's
# verdict on the API's sample payloads, and runs `onboard serve` with the embedded database
# (http://127.0.0.1:8080 unless ONBOARD_BIND says otherwise). Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
wasm/build.sh
node scripts/check-samples.mjs
if [[ -f web/package.json ]]; then
  (cd web && { [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error; } && npm run -s build)
fi
if [[ -f server/src/main.rs ]] && grep -q serve server/src/main.rs; then
  cargo build --release -q -p onboard
  exec target/release/onboard serve "$@"
fi
