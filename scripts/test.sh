#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs every test and gate of the project.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "format and lint (cargo fmt --check, clippy -D warnings)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

step "API docs (cargo doc, warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace -q

step "licences, bans, sources (cargo deny; advisories need a network: see deny.toml)"
cargo deny --log-level error check licenses bans sources

step "Rust tests: the rulebook (unit, doctests, corpus, properties) and the server (real DB, real HTTP)"
cargo test --workspace

step "npm package: build, pack, install the tarball in a scratch project, run the corpus in Node"
wasm/build.sh
tests/npm/run.sh

step "cross-check: the server over HTTP vs the npm package (corpus + 3,000 generated payloads)"
tests/crosscheck/run.sh

step "API fuzzing: schemathesis against onboard serve and its /openapi.json"
tests/api/schemathesis.sh

if [[ -x web/test.sh ]]; then
  step "web page: build and browser tests (Chromium) against onboard serve"
  web/test.sh
fi

step "all tests passed"
