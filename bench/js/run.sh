#!/usr/bin/env bash
# The side-by-side benchmark of issue 6: onboard-rules (the wasm package, installed from its
# packed tarball as a consumer would) against the same rules in ajv, zod and valibot.
#   bench/js/run.sh            build nothing; use wasm/pkg as wasm/build.sh left it
# Prints the conformance agreement, the gzip sizes and the timing table (also written to
# bench/js/report.md, the source of bench/results.md's section). Set BENCH_TIME_MS to change
# the time per task (default 1000 ms; 32 tasks).
set -euo pipefail
cd "$(dirname "$0")"
tgz="$(ls ../../wasm/pkg/onboard-rules-*.tgz 2>/dev/null | head -1)"
[[ -n "$tgz" ]] || { echo "no package: run wasm/build.sh first" >&2; exit 1; }
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The package as a consumer gets it; --no-save keeps package.json and the lockfile as committed.
npm install --no-save --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
node conformance.js | grep -v '^  - ' || true
node size.js
node bench.js >/dev/null
node report.js
