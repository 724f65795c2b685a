#!/usr/bin/env bash
# npm run build: everything the project ships, into dist/.
#   dist/bin/nodecred-provider-linux-{amd64,arm64}(.sha256)  static provider executables (scripts/build-provider.sh)
#   dist/installer/nodecred-{installer,sync}.mjs             installer bundles (scripts/build-installer.sh)
#   dist/kubectl-nodecred                                    the kubectl plugin (scripts/build-kubectl-plugin.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/build-provider.sh scripts/build-installer.sh scripts/build-kubectl-plugin.sh; do
  if [[ -f "$step" ]]; then bash "$step"; fi
done
