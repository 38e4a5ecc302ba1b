#!/usr/bin/env bash
# Installs everything onboard needs on a fresh Debian machine, skipping what is already there.
# Safe to run again and again; every step checks before it installs.
#
#   scripts/setup.sh            everything (build, run and test)
#   scripts/setup.sh --no-browser   everything but Chromium (no browser tests)
#
# Facts behind each step: shared/TOOLCHAIN.md of the steering repo (wasm32 without rustup
# targets, the pinned MongoDB-wire server, npm's binaryen instead of Debian's).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BROWSER=1
[[ "${1:-}" == "--no-browser" ]] && BROWSER=0
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

SECANTUS_VERSION="0.5.3-beta.196"
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"

# --- Debian packages -------------------------------------------------------------------
need_apt=()
have_wasm_target() { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }
if ! have_wasm_target; then
  # No rustup wasm32 target (it cannot be downloaded here): Debian's newer rustc builds std
  # for wasm32 from source with -Z build-std, linked by the matching wasm-ld.
  need_apt+=(rustc-web cargo-web rust-web-src lld-22)
fi
command -v secantusd-rs >/dev/null 2>&1 || need_apt+=(cmake)
[[ $BROWSER == 1 ]] && need_apt+=(chromium fonts-liberation)
missing=()
for p in "${need_apt[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- wasm-bindgen-cli, pinned to Cargo.lock ----------------------------------------------
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (2-4 minutes, once)"
  # Not --locked: its lockfile names a dependency version the registry mirror lacks.
  cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

# --- The MongoDB-wire server used when no MONGODB_URI is given ---------------------------
# GPL-2.0-only: installed as a separate program and run as a child process, never linked.
if ! secantusd-rs --version >/dev/null 2>&1; then
  log "cargo install secantus-mdb $SECANTUS_VERSION (about 7 minutes, once)"
  cargo install -q secantus-mdb --version "=$SECANTUS_VERSION" --locked --ignore-rust-version
fi

# --- cargo-deny: the licence/bans/sources gate of scripts/test.sh ------------------------
if ! cargo deny --version >/dev/null 2>&1; then
  log "cargo install cargo-deny (about 4 minutes, once)"
  cargo install -q cargo-deny --locked
fi

# --- npm tools (wasm-opt from npm's binaryen: Debian's 108 breaks the module) -----------
npm_ci() {  # npm_ci DIR: install DIR's locked dependencies unless they already match the lockfile
  local dir="$1"
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci wasm/tools
for dir in web tests/npm tests/webhooks bench/js; do
  [[ -f "$dir/package-lock.json" ]] && npm_ci "$dir"
done
# --- Python tools (schemathesis for the API gate, standardwebhooks for the webhook test), pinned, in .tools/venv
venv="$ROOT/.tools/venv"
if ! cmp -s tests/api/requirements.txt "$venv/requirements.installed" 2>/dev/null; then
  log "pip install -r tests/api/requirements.txt into .tools/venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/api/requirements.txt
  cp tests/api/requirements.txt "$venv/requirements.installed"
fi
log "ready"
