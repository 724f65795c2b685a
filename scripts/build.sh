#!/usr/bin/env bash
# npm run build: everything the project ships, into dist/.
#   dist/bin/nodecred-provider-linux-{amd64,arm64}(.sha256)  static provider executables (scripts/build-provider.sh)
#   dist/installer/nodecred-{installer,sync}.mjs             installer bundles (scripts/build-installer.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/build-provider.sh scripts/build-installer.sh; do
  if [[ -f "$step" ]]; then bash "$step"; fi
done
