#!/usr/bin/env bash
# Builds upstream kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl for the pinned release,
# and the etcd server that release pins (go.etcd.io/etcd/server/v3), from the Go module proxy (module in
# scripts/k8s), into a cache outside the repo keyed by version. Reused when present. Prints the directory.
# These binaries are test tools only; nothing ships them.
#
#   build-kubernetes.sh                      the main release (scripts/k8s): everything above
#   build-kubernetes.sh MODULE_DIR BIN...    only these commands of the release MODULE_DIR pins
#                                            (scripts/k8s-next: the newer kubelet of the test matrix)
#
# Why not Debian's etcd-server: bookworm has 3.4.23, and kube-apiserver 1.34's watch cache does not work
# with it (a watch without resourceVersion fails after 3s with "Too large resource version": the cache
# gets no progress notifications from that etcd). Kubernetes 1.34 itself tests against etcd 3.6.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="${1:-$here/../k8s}"
version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}k8s\.io\/kubernetes[[:space:]]\{1,\}\(v1\.[0-9.]*\)$/\2/p' "$mod/go.mod")"
[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { echo "build-kubernetes: no k8s.io/kubernetes version in $mod/go.mod" >&2; exit 1; }
cache="${NODECRED_CACHE:-$HOME/.cache/nodecred}"
out="$cache/k8s/$version"
if (($# > 1)); then
  bins=("${@:2}")
  main=0
else
  bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd)
  main=1
fi
cmds=()
for b in "${bins[@]}"; do [[ "$b" == etcd ]] || cmds+=("$b"); done

complete=1
for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
((main == 0)) || [[ -f "$out/cri-api.proto" ]] || complete=0
if ((complete)); then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build-kubernetes: Go is required to build Kubernetes $version" >&2; exit 1; }
echo "build-kubernetes: building Kubernetes $version into $out (first run only; takes several minutes)" >&2
mkdir -p "$cache/k8s"
tmp="$(mktemp -d "$cache/k8s/.build-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
minor="${version#v1.}"; minor="${minor%%.*}"
(
  cd "$mod"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$tmp/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
  if ((main)); then
    go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
    # The CRI API of the same release, for the tests' CRI client (k8s.io/cri-api is a dependency above).
    cp "$(go list -m -f '{{.Dir}}' k8s.io/cri-api)/pkg/apis/runtime/v1/api.proto" "$tmp/cri-api.proto"
  fi
)
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
