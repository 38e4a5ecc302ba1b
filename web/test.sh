#!/usr/bin/env bash
# Builds the organizer's page and runs its browser tests: Debian's Chromium (playwright-core,
# no browser download) against the real `onboard serve` with the embedded database.
#
#   web/test.sh
#
# Needs what scripts/setup.sh installs: Node 20.19+ with npm 11, /usr/bin/chromium (apt package
# `chromium`), cargo, and secantusd-rs on PATH. Env: ONBOARD_BIN (server binary, default
# target/debug/onboard, built here when unset), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd .. && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '\033[1m[web]\033[0m %s\n' "$*" >&2; }

# The onboard-rules package is build output (git-ignored): make it when it is missing.
if [[ ! -f "$ROOT/wasm/pkg/package.json" ]]; then
  log "wasm/pkg missing: wasm/build.sh"
  "$ROOT/wasm/build.sh"
fi

# Locked dependencies, unless node_modules already holds exactly this lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  log "no Chromium at $CHROMIUM: run scripts/setup.sh (apt-get install chromium)"
  exit 1
fi
export CHROMIUM

log "build (tsc --noEmit, vite build) and size budget"
npm run --silent build
node size.mjs --check

if [[ -z "${ONBOARD_BIN:-}" ]]; then
  log "cargo build -p onboard"
  (cd "$ROOT" && cargo build -q -p onboard)
fi

log "browser tests"
npm test --silent
