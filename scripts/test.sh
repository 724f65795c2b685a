#!/usr/bin/env bash
# `npm test` (after `npm ci`): the whole suite on a fresh machine, all set-up included.
#   1. static checks (tsc, eslint, prettier)
#   2. Debian packages and upstream Kubernetes binaries for the test environment (cached)
#   3. npm run build (static providers, installer bundle)
#   4. every test under test/, inside a running test environment (registries, containerd, etcd,
#      kube-apiserver) that is torn down afterwards, also on failure or Ctrl-C.
# Needs root (apt-get, containerd). Extra arguments replace the test file globs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "$(node -p 'process.versions.node.split(".")[0]')" -lt 24 ]]; then
  echo "npm test: Node >= 24 required (run through npm, which puts node_modules/.bin/node first)" >&2
  exit 1
fi

npm run --silent check
bash scripts/test-env/setup.sh >/dev/null
npm run --silent build

if (($#)); then files=("$@"); else files=("test/**/*.test.ts"); fi
exec node test/env/run.ts -- node --test --test-reporter=spec "${files[@]}"
