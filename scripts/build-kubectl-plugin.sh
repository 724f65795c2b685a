#!/usr/bin/env bash
# Bundles `kubectl nodecred` (installer/kubectl-main.ts) into dist/kubectl-nodecred: one executable
# file; `kubectl` runs it as a plugin when it is on PATH. Called by scripts/build.sh (npm run build);
# alone, `npm run build:kubectl-plugin` needs nothing but `npm ci` (no QuickJS, no Go).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist

# The kubectl plugin runs on an operator's machine with whatever Node it has, as a file without an
# extension outside any package.json, which Node loads as CommonJS: so the bundle is CommonJS (the
# shebang is kept from the entry point). Node 22.19 or later: @kubernetes/client-node's HTTP client
# (undici 8) needs it and fails to load on Node 20 (no zlib zstd, no markAsUncloneable), so a guard
# runs first and says so in a sentence instead of a stack trace (test/ship/bundles.test.ts
# runs the bundle on the machine's Node 20 and on Node 24). Not minified: a short-lived command,
# and a stack trace a user can read.
node_modules/.bin/esbuild installer/kubectl-main.ts \
  --bundle \
  --platform=node \
  --target=node22 \
  --format=cjs \
  --legal-comments=eof \
  --charset=ascii \
  --banner:js='{ const [major, minor] = process.versions.node.split(".").map(Number); if (major < 22 || (major === 22 && minor < 19)) { process.stderr.write(`kubectl nodecred: needs Node.js 22.19 or later (this is ${process.version})\n`); process.exit(1); } }' \
  --outfile=dist/kubectl-nodecred \
  --log-level=warning
# In this repository dist/ is inside a "type": "module" package: a package.json of its own keeps
# the extensionless plugin CommonJS here too, as it is on an operator's machine.
printf '{ "type": "commonjs" }\n' >dist/package.json
chmod 0755 dist/kubectl-nodecred
echo "built dist/kubectl-nodecred"
