#!/usr/bin/env bash
# Bundles the installer (installer/main.ts and every dependency) into one ESM file for Node 24:
#   dist/installer/nodecred-installer.mjs   run as: node dist/installer/nodecred-installer.mjs apply ...
# Called by scripts/build.sh (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist/installer
# handlebars is CommonJS and calls require("fs"); an ESM bundle needs a real require for that.
node_modules/.bin/esbuild installer/main.ts \
  --bundle \
  --platform=node \
  --target=node24 \
  --format=esm \
  --outfile=dist/installer/nodecred-installer.mjs \
  --banner:js='import { createRequire as __nodecredCreateRequire } from "node:module"; const require = __nodecredCreateRequire(import.meta.url);' \
  --log-level=warning
chmod 0755 dist/installer/nodecred-installer.mjs
echo "built dist/installer/nodecred-installer.mjs"
