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
source "$here/go-cache.sh"
mod="${1:-$here/../k8s}"
go_pinned build-kubernetes "$mod" k8s.io/kubernetes 1 k8s
if (($# > 1)); then
  bins=("${@:2}")
  main=0
else
  bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd)
  main=1
fi
cmds=()
for b in "${bins[@]}"; do [[ "$b" == etcd ]] || cmds+=("$b"); done

built() {
  local b
  for b in "${bins[@]}"; do [[ -x "$1/$b" ]] || return 1; done
  ((main == 0)) || [[ -f "$1/cri-api.proto" ]]
}
build() {
  local minor="${version#v1.}"; minor="${minor%%.*}"
  go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$1/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
  if ((main)); then
    go build -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3
    # The CRI API of the same release, for the tests' CRI client (k8s.io/cri-api is a dependency above).
    cp "$(go list -m -f '{{.Dir}}' k8s.io/cri-api)/pkg/apis/runtime/v1/api.proto" "$1/cri-api.proto"
  fi
}
go_cached_build build-kubernetes "Kubernetes $version" "several minutes" "$mod" "$out" built build
echo "$out"
