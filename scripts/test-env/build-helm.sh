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
mod="$here/../helm"
version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}helm\.sh\/helm\/v3[[:space:]]\{1,\}\(v3\.[0-9.]*\)$/\2/p' "$mod/go.mod")"
[[ "$version" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || { echo "build-helm: no helm.sh/helm/v3 version in $mod/go.mod" >&2; exit 1; }
cache="${NODECRED_CACHE:-$HOME/.cache/nodecred}"
out="$cache/helm/$version"
if [[ -x "$out/helm" ]]; then
  echo "$out/helm"
  exit 0
fi

command -v go >/dev/null || { echo "build-helm: Go is required to build Helm $version" >&2; exit 1; }
echo "build-helm: building Helm $version into $out (first run only; takes a few minutes)" >&2
mkdir -p "$cache/helm"
tmp="$(mktemp -d "$cache/helm/.build-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
  cd "$mod"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  k8s="$(go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.MINOR.PATCH = Kubernetes v1.MINOR.PATCH
  k8s_minor="${k8s#v0.}"; k8s_minor="${k8s_minor%%.*}"
  [[ "$k8s_minor" =~ ^[0-9]+$ ]] || { echo "build-helm: unexpected k8s.io/client-go version $k8s" >&2; exit 1; }
  go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor" \
    -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
)
[[ "$("$tmp/helm" version --template '{{.Version}}')" == "$version" ]] || { echo "build-helm: the built helm does not say $version" >&2; exit 1; }
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out/helm"
