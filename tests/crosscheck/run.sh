#!/usr/bin/env bash
# The cross-check: the same payloads through a real `onboard serve` over HTTP and through the
# npm package installed from its packed tarball, whose error lists must be identical.
#
#   wasm/build.sh && tests/crosscheck/run.sh      (about one to two minutes)
#
# Env: ONBOARD_BIN (default target/debug/onboard, built here when ONBOARD_BIN is unset),
# CROSSCHECK_COUNT (generated payloads, default 3000), CROSSCHECK_SEED (default 7),
# CROSSCHECK_CONCURRENCY (default 8). The server needs secantusd-rs on PATH or SECANTUSD_BIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
tgz="$(ls "$root"/wasm/pkg/onboard-rules-*.tgz 2>/dev/null | head -1)"
[[ -n "$tgz" ]] || { echo "no package: run wasm/build.sh first" >&2; exit 1; }
if [[ -z "${ONBOARD_BIN:-}" ]]; then
  (cd "$root" && cargo build -q -p onboard --bin onboard)
  export ONBOARD_BIN="$root/target/debug/onboard"
fi
[[ -x "$ONBOARD_BIN" ]] || { echo "no server binary at $ONBOARD_BIN" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
cp "$here"/*.test.mjs .
ONBOARD_CORPUS="$root/shared/corpus/cases.json" node --test --test-reporter=spec ./*.test.mjs
