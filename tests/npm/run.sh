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
cp "$here"/*.test.mjs "$here"/*.test.cjs .

# The types: a strict TypeScript consumer of every export must compile, and wrong payload
# shapes in it must be compile errors (see wasm/examples/consumer.ts).
[[ -x "$here/node_modules/.bin/tsc" && -d "$here/node_modules/papaparse" ]] ||
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
cp "$root/wasm/examples/consumer.ts" .
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "module": "nodenext",
  "moduleResolution": "nodenext", "skipLibCheck": false, "types": [] }, "files": ["consumer.ts"] }
JSON
"$here/node_modules/.bin/tsc" -p tsconfig.json
echo "tsc --strict: wasm/examples/consumer.ts type-checks against the packed package"
ONBOARD_CORPUS="$root/shared/corpus/cases.json" node --test --test-reporter=spec ./*.test.mjs ./*.test.cjs

# The spreadsheet parity test (tests/sheets/): the same export files through the package, as
# the page reads them (papaparse, as web/ uses), and through `onboard import --dry-run --json`.
ONBOARD_BIN="${ONBOARD_BIN:-$root/target/debug/onboard}"
if [[ ! -x "$ONBOARD_BIN" ]]; then
  (cd "$root" && cargo build -q -p onboard)
fi
ln -s "$here/node_modules/papaparse" node_modules/papaparse
mkdir sheets && cp "$root"/tests/sheets/*.test.mjs sheets/
SHEETS_DIR="$root/tests/sheets" ONBOARD_BIN="$ONBOARD_BIN" node --test --test-reporter=spec sheets/*.test.mjs
