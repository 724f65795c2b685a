#!/usr/bin/env bash
# Prepares this machine for the test environment. Idempotent, no prompts; safe to run twice.
#  1. Debian packages for the real components the tests run (registry, skopeo, containerd, etcd, ...).
#  2. Upstream Kubernetes binaries and the Helm CLI (charts/nodecred's tests), built from the Go module
#     proxy into a cache outside the repo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

packages=(
  docker-registry # distribution registry v2 (htpasswd basic auth, TLS)
  apache2-utils   # htpasswd
  skopeo          # a real registry client
  containerd      # a real CRI ImageService
  runc
  umoci           # builds the tiny test image without a Docker engine
  busybox-static  # ... whose only file is a static busybox
  openssl         # test PKI
  qemu-user-static # runs the arm64 provider binary in the conformance test
  time            # /usr/bin/time, peak RSS in scripts/bench-provider
  iproute2
  util-linux      # setpriv, unshare, nsenter, mount
  containernetworking-plugins # the loopback CNI plugin of the end-to-end node (test/e2e)
  file            # scripts/build-image.sh checks the Node binary it copies
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test-env: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages enable system services where systemd runs; the tests start their own instances.

bash "$here/build-kubernetes.sh"
# The kubelet oracle's harness (test/provider/oracle-harness.test.ts) is built offline: the module
# cache must hold its packages even when the Kubernetes build above came from NODECRED_CACHE.
(cd "$here/../k8s" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go list -deps ./oracle >/dev/null)
# The newer kubelet minor of the end-to-end matrix (test/e2e): only the kubelet of that release.
bash "$here/build-kubernetes.sh" "$here/../k8s-next" kubelet
# The older kubelet minor (test/e2e/fleet.test.ts: a mixed-version fleet): only its kubelet.
bash "$here/build-kubernetes.sh" "$here/../k8s-prev" kubelet
# The Helm CLI the chart tests run (test/ship/helm*.test.ts), same cache.
bash "$here/build-helm.sh"
