#!/usr/bin/env bash
# Builds the npm package `onboard-rules` from this crate into wasm/pkg/ and packs it
# (wasm/pkg/onboard-rules-VERSION.tgz). Run scripts/setup.sh first.
#
# One package for browsers, bundlers and Node (see wasm/npm/package.json "exports"):
#   web/   wasm-bindgen --target web, loaded by index.js with top-level await
#   node/  wasm-bindgen --target nodejs, renamed .cjs (the package is "type": "module")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export PATH="$HOME/.cargo/bin:$PATH"
PKG="$ROOT/wasm/pkg"
WASM_OPT="$ROOT/wasm/tools/node_modules/.bin/wasm-opt"
PROFILE=wasm-release

# Two modules from the one crate: onboard_wasm (validation, the main entry) and, with the
# crate's `sheet` feature, onboard_sheet (the spreadsheet functions, `onboard-rules/sheet`).
build_wasm() { # $1: extra cargo arguments
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  # A normal rustup machine: the plain target.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Cllvm-args=-inline-threshold=${WASM_INLINE:-80} ${WASM_RUSTFLAGS:-}" \
    cargo build -q --profile "$PROFILE" --target wasm32-unknown-unknown -p onboard-wasm
  OUT="$ROOT/target/wasm32-unknown-unknown/$PROFILE"
else
  # This machine's rustup cannot download targets: Debian's rustc-web builds std for
  # wasm32 from its shipped sources, linked with the wasm-ld of the same LLVM major.
  llvm="$(/usr/bin/rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
  # -Cpanic=immediate-abort (unstable, hence -Zunstable-options; RUSTC_BOOTSTRAP is set
  # anyway for build-std): a panic traps at once instead of formatting its message, which
  # drops core::fmt's panic machinery from the module (see bench/results.md for the bytes).
  # -inline-threshold=50: opt-level "z" inlines almost nothing (threshold 5), leaving every
  # slice iterator step and Cow deref a call; 50 (opt-level "s"'s) made validation about 1.5x
  # faster for under 1 KB gzipped. 40 since issue 16: 0.6 KB smaller than 50, which kept the
  # package under 50 KB once the edit checks were added; 80 since talc replaced dlmalloc
  # (wasm/src/lib.rs), which freed 1.6 KB: 5-13 % faster for 0.85 KB (bench/results.md).
  # -Z build-std-features=optimize_for_size: std and core pick their smaller algorithms
  # (sorts, number formatting); 0.75 KB gzipped smaller, no measurable change in speed
  # (bench/results.md, issue 16).
  # --cfg onboard_speed: the JSON parser's functions compiled for speed, `#[optimize(speed)]`,
  # a nightly attribute (shared/src/lib.rs; issue 16: ~10 % faster for ~110 B gzipped).
  # WASM_INLINE and WASM_RUSTFLAGS are
  # for experiments; so is WASM_OPT_FLAGS (--converge repeats -Oz until it gains nothing).
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="wasm-ld-$llvm" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Cllvm-args=-inline-threshold=${WASM_INLINE:-80} --cfg onboard_speed ${WASM_RUSTFLAGS:-}" \
    CARGO_TARGET_DIR="$ROOT/target/wasm-build" \
    /usr/bin/cargo build -q --profile "$PROFILE" --target wasm32-unknown-unknown \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size -p onboard-wasm $1
  OUT="$ROOT/target/wasm-build/wasm32-unknown-unknown/$PROFILE"
fi
}
build_wasm ""
cp "$OUT/onboard_wasm.wasm" "$OUT/onboard_main.wasm"
build_wasm "--features sheet"
cp "$OUT/onboard_wasm.wasm" "$OUT/onboard_sheet.wasm"

rm -rf "$PKG"
mkdir -p "$PKG/web" "$PKG/node"
# Replaces the glue's function `name` (the text matching `pattern`, a Perl regex over the
# whole file with `m` and `s`) by `text`; fails, naming it, unless it matched exactly once.
replace_glue_function() {
  local name=$1 text=$2 file=$3 pattern=$4
  PATTERN=$pattern TEXT=$text perl -0777 -i -pe '$n += s{$ENV{PATTERN}}{$ENV{TEXT}}ms;
    END { exit($n == 1 ? 0 : 1) }' "$file" ||
    { echo "$file: $name is not the one build.sh replaces (wasm-bindgen changed?)" >&2; exit 1; }
}
for mod in wasm sheet; do
  in="$OUT/onboard_main.wasm"
  [[ $mod == sheet ]] && in="$OUT/onboard_sheet.wasm"
  # --encode-into always: TextEncoder.encodeInto without a polyfill (every engine that runs
  # this package has it: it needs top-level await and wasm reference types, which came later).
  wasm-bindgen --target web --encode-into always --out-dir "$PKG/web" --out-name "onboard_$mod" "$in"
  wasm-bindgen --target nodejs --encode-into always --out-dir "$PKG/node" --out-name "onboard_$mod" "$in"
  for dir in web node; do
    # Every string into wasm (the JSON text of validate*Json, the JSON.stringify text of a
    # JS object) goes through the glue's passStringToWasm0. wasm-bindgen's copies ASCII one
    # charCodeAt at a time in JS, which took 1.6 us of the seed user's 583 bytes and 14 us of
    # the 20-speaker sponsor's 5 KB (bench/results.md, issue 16); TextEncoder.encodeInto
    # copies the same bytes in 0.1-0.3 us. Same bytes either way (UTF-8, a lone surrogate
    # as U+FFFD), so the function is replaced by one that calls encodeInto at once: into the
    # string's length in bytes (all of ASCII text fits), then, for what did not fit, into
    # three bytes per UTF-16 unit, as wasm-bindgen's own non-ASCII path does. A short ASCII
    # string (a form field's path and value, a spreadsheet cell) is copied by a loop first:
    # encodeInto's call costs more than copying 40 bytes (validateField 0.47 -> 0.40 us,
    # csvCellValue("x") 0.30 -> 0.14 us; bench/results.md, issue 16).
    PASS_STRING='function passStringToWasm0(arg, malloc, realloc) {
    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;
    if (len < 48) {
        const mem = getUint8ArrayMemory0();
        let i = 0;
        for (; i < len; i++) {
            const c = arg.charCodeAt(i);
            if (c > 127) break;
            mem[ptr + i] = c;
        }
        if (i === len) {
            WASM_VECTOR_LEN = len;
            return ptr;
        }
    }
    let ret = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len));
    let offset = ret.written;
    if (ret.read !== len) {
        arg = arg.slice(ret.read);
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        ret = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr + offset, ptr + len));
        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }
    WASM_VECTOR_LEN = offset;
    return ptr;
}
'
    replace_glue_function passStringToWasm0 "$PASS_STRING" "$PKG/$dir/onboard_$mod.js" \
      '^function passStringToWasm0\(arg, malloc, realloc\) \{\n.*?^    WASM_VECTOR_LEN = offset;\n    return ptr;\n\}\n'
    # (It always has a realloc: wasm-bindgen passes one wherever the module exports it.)
    if grep -qE 'passStringToWasm0\([^,()]*, [^,()]*\)' "$PKG/$dir/onboard_$mod.js"; then
      echo "$dir/onboard_$mod.js: a passStringToWasm0 call without realloc" >&2; exit 1
    fi
    # Every string out of wasm goes through getStringFromWasm0 and its TextDecoder, whose
    # call costs 0.09 us whatever the length, where a loop makes a string of under 12 ASCII
    # bytes in 0.02-0.08 us (a slug, a username, a spreadsheet cell; bench/results.md, issue
    # 16). Longer text (an error list) is faster through the decoder; so is anything not ASCII.
    GET_STRING='function getStringFromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    if (len < 12) {
        const mem = getUint8ArrayMemory0();
        let s = "";
        for (let i = ptr; i < ptr + len; i++) {
            if (mem[i] > 127) return decodeText(ptr, len);
            s += String.fromCharCode(mem[i]);
        }
        return s;
    }
    return decodeText(ptr, len);
}
'
    replace_glue_function getStringFromWasm0 "$GET_STRING" "$PKG/$dir/onboard_$mod.js" \
      '^function getStringFromWasm0\(ptr, len\) \{\n    ptr = ptr >>> 0;\n    return decodeText\(ptr, len\);\n\}\n'
    # shellcheck disable=SC2086 # WASM_OPT_FLAGS is a list of flags
    "$WASM_OPT" ${WASM_OPT_FLAGS:--Oz --converge} --strip-producers --strip-target-features "$PKG/$dir/onboard_${mod}_bg.wasm" -o "$PKG/$dir/onboard_${mod}_bg.wasm"
  done
  mv "$PKG/node/onboard_$mod.js" "$PKG/node/onboard_$mod.cjs"
done
# validateField's JavaScript side (wasm/npm/field.js, without its comments) joins the main
# module's glue, whose __validateField it calls; the Node copy as CommonJS, as below.
field_js="$(perl -ne 'print unless m{^\s*//}' wasm/npm/field.js)"
echo "$field_js" >> "$PKG/web/onboard_wasm.js"
echo "$field_js" | sed -E 's/^export function ([A-Za-z_$][A-Za-z0-9_$]*)/exports.\1 = function \1/' >> "$PKG/node/onboard_wasm.cjs"
# The JS helper of wasm/src/lib.rs (inline_js) is copied verbatim, ES-module syntax, into
# */snippets/; the nodejs glue require()s it, and this package is "type": "module", so the
# Node copy becomes CommonJS (.cjs, `export function f` -> `exports.f = function f`).
for f in "$PKG"/node/snippets/*/*.js; do
  sed -E 's/^export function ([A-Za-z_$][A-Za-z0-9_$]*)/exports.\1 = function \1/' "$f" > "${f%.js}.cjs"
  rm "$f"
done
# (wasm-bindgen writes require('./snippets/…') or, for a helper the glue calls itself,
# require(String.raw`./snippets/…`).)
sed -i -E "s#require\((String\.raw)?(['\`])(\./snippets/[^'\`]*)\.js(['\`])\)#require(\1\2\3.cjs\4)#g" "$PKG"/node/onboard_*.cjs
rm -f "$PKG"/*/.gitignore "$PKG"/*/package.json "$PKG"/*/onboard_*_bg.wasm.d.ts

# The web glue's JSDoc comments (wasm-bindgen copies each function's doc there) are dropped:
# the same text ships in the .d.ts for editors, and browsers would download it (~1.5 KB
# gzipped); so are its indentation and blank lines (~0.2 KB; no string of the glue spans
# lines, which the check below keeps true, and line breaks, hence ASI, stay as they were).
# The same for the inline_js snippet the glue imports (wasm/src/lib.rs), whose comments are
# for readers of the Rust source: its whole-line `//` comments go too (~0.3 KB gzipped).
for f in "$PKG"/web/onboard_*.js "$PKG"/web/snippets/*/*.js; do
  if perl -ne '$n = () = /`/g; exit 1 if $n % 2' "$f"; then :; else
    echo "$f: a template literal spans lines; the glue cannot be unindented" >&2; exit 1
  fi
  perl -0pi -e 's{^[ \t]*/\*\*.*?\*/\n}{}gms; s{^[ \t]*//[^\n]*\n}{}gm; s{^[ \t]+}{}gm; s{\n\n+}{\n}g' "$f"
done

# The Node build's declarations are the API without the web build's init(): the same
# functions every consumer imports (index.d.ts: the main entry; sheet.d.ts: onboard-rules/sheet).
cp "$PKG/node/onboard_wasm.d.ts" "$PKG/index.d.ts"
cp "$PKG/node/onboard_sheet.d.ts" "$PKG/sheet.d.ts"
# The CommonJS entries expose those functions only. wasm-bindgen's nodejs glue gives its own
# `exports` to the wasm instance as the import object, so its __wbg_* helpers must stay on it;
# node/index.cjs and node/sheet.cjs re-export just the names the .d.ts declares.
for entry in index:wasm sheet:sheet; do
  {
    echo '"use strict";'
    echo '// The package'"'"'s functions (generated by wasm/build.sh from '"${entry%%:*}"'.d.ts).'
    echo "const glue = require(\"./onboard_${entry#*:}.cjs\");"
    sed -n -E 's/^export function ([A-Za-z_$][A-Za-z0-9_$]*)\(.*/\1/p' "$PKG/${entry%%:*}.d.ts" |
      while read -r name; do echo "exports.$name = glue.$name;"; done
  } > "$PKG/node/${entry%%:*}.cjs"
done
grep -q '^exports\.validateUser = ' "$PKG/node/index.cjs" || { echo "node/index.cjs lists no function" >&2; exit 1; }
grep -q '^exports\.rowsToUsers = ' "$PKG/node/sheet.cjs" || { echo "node/sheet.cjs lists no function" >&2; exit 1; }
cp wasm/npm/index.js wasm/npm/sheet.js wasm/npm/README.md "$PKG/"
cp LICENSE-MIT LICENSE-APACHE "$PKG/"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
sed "s/\"version\": \"[^\"]*\"/\"version\": \"$version\"/" wasm/npm/package.json > "$PKG/package.json"

(cd "$PKG" && npm pack --silent --pack-destination "$PKG" >/dev/null)
wasm_bytes=$(stat -c %s "$PKG/web/onboard_wasm_bg.wasm")
gz_bytes=$(( $(gzip -9c "$PKG/web/onboard_wasm_bg.wasm" | wc -c) + $(gzip -9c "$PKG/web/onboard_wasm.js" | wc -c) ))
sheet_wasm=$(stat -c %s "$PKG/web/onboard_sheet_bg.wasm")
sheet_gz=$(( $(gzip -9c "$PKG/web/onboard_sheet_bg.wasm" | wc -c) + $(gzip -9c "$PKG/web/onboard_sheet.js" | wc -c) ))
# The 50 KB budget (issues 11, 16) is the main entry's: what every page loads.
# What a page loads beside them: the inline_js snippet(s) the glue imports and index.js.
extra_gz=0
for f in "$PKG"/web/snippets/*/*.js "$PKG/index.js"; do
  extra_gz=$(( extra_gz + $(gzip -9c "$f" | wc -c) ))
done
echo "built $PKG/onboard-rules-$version.tgz (main: wasm ${wasm_bytes} B; wasm + glue gzipped ${gz_bytes} B, with snippets and index.js $(( gz_bytes + extra_gz )) B; sheet: wasm ${sheet_wasm} B; wasm + glue gzipped ${sheet_gz} B)"
