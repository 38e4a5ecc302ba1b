#!/usr/bin/env bash
# Installs the packed npm package (wasm/pkg/onboard-rules-*.tgz) into a scratch project, as
# any consumer would, and runs the package tests there with node's test runner.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tgz="$(ls "$root"/wasm/pkg/onboard-rules-*.tgz 2>/dev/null | head -1)"
[[ -n "$tgz" ]] || { echo "no package: run wasm/build.sh first" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
cp "$here"/package.test.mjs "$here"/package.test.cjs .
ONBOARD_CORPUS="$root/shared/corpus/cases.json" node --test --test-reporter=spec package.test.mjs package.test.cjs
