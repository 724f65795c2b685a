#!/usr/bin/env bash
# Bundles the installer into ESM files for Node 24, each an entry point with every dependency:
#   dist/installer/nodecred-installer.mjs   installer/main.ts, every command (the apply init
#                                           container: node .../nodecred-installer.mjs apply ...)
#   dist/installer/nodecred-sync.mjs        installer/sync-main.ts, `run` only (the sync container:
#                                           node .../nodecred-sync.mjs run ...)
# Called by scripts/build.sh (npm run build).
# Two bundles, because Node evaluates every module of a bundle at start: the one bundle had the
# long-running sync container load apply's modules (execa, the host shell) and keep them, and the
# bundle's source, in its heap for as long as it runs (scripts/bench-footprint measures both).
# Minified and pure ASCII, because V8 keeps the bundle's source in the heap (it compiles functions
# lazily from it): unminified, with a few non-ASCII characters in comments, V8 held it as an 8 MB
# two-byte string (16 MB); minified and ASCII it is ~3 MB of one-byte string, and the identifiers'
# minification saves as much again in scope data. Licence comments are kept at the end, non-ASCII
# escaped.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist/installer

bundle() {
  local entry=$1 out=$2
  # handlebars is CommonJS and calls require("fs"); an ESM bundle needs a real require for that.
  node_modules/.bin/esbuild "$entry" \
    --bundle \
    --platform=node \
    --target=node24 \
    --format=esm \
    --minify \
    --legal-comments=eof \
    --charset=ascii \
    --outfile="$out" \
    --banner:js='import { createRequire as __nodecredCreateRequire } from "node:module"; const require = __nodecredCreateRequire(import.meta.url);' \
    --log-level=warning
  # esbuild escapes non-ASCII in code (--charset=ascii) but copies licence comments as they are.
  node_modules/.bin/node -e '
    const fs = require("node:fs");
    const file = process.argv[1];
    const text = fs.readFileSync(file, "utf8").replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
    fs.writeFileSync(file, text);
  ' "$out"
  chmod 0755 "$out"
  echo "built $out"
}

bundle installer/main.ts dist/installer/nodecred-installer.mjs
bundle installer/sync-main.ts dist/installer/nodecred-sync.mjs
