#!/usr/bin/env bash
# Builds the Helm CLI of the release scripts/helm pins (helm.sh/helm/v3), from the Go module proxy (go.sum
# verifies it), into the same cache as the Kubernetes binaries, keyed by version. Reused when present.
# Prints the path of the binary. A test tool only (test/ship/helm*.test.ts prove charts/nodecred with it);
# nothing ships it.
#
# The ldflags are those of Helm's own Makefile: the version `helm version` prints, and the Kubernetes version
# `helm template` and `helm lint` assume without a cluster (the minor of the client-go Helm is built with, as
# Helm's release builds do; otherwise it would be v1.20).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/go-cache.sh"
mod="$here/../helm"
go_pinned build-helm "$mod" helm.sh/helm/v3 3 helm

built() { [[ -x "$1/helm" ]]; }
build() {
  local k8s k8s_minor
  k8s="$(go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.MINOR.PATCH = Kubernetes v1.MINOR.PATCH
  k8s_minor="${k8s#v0.}"; k8s_minor="${k8s_minor%%.*}"
  [[ "$k8s_minor" =~ ^[0-9]+$ ]] || { echo "build-helm: unexpected k8s.io/client-go version $k8s" >&2; exit 1; }
  go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor" \
    -o "$1/helm" helm.sh/helm/v3/cmd/helm
  [[ "$("$1/helm" version --template '{{.Version}}')" == "$version" ]] || { echo "build-helm: the built helm does not say $version" >&2; exit 1; }
}
go_cached_build build-helm "Helm $version" "a few minutes" "$mod" "$out" built build
echo "$out/helm"
