#!/usr/bin/env bash
# scripts/image-runtime.sh ROOTFS NODE_BIN: what runs in the nodecred image besides the files of
# `npm run build` (those are the Dockerfile's `COPY --from=build` lines), into ROOTFS:
#   /usr/local/bin/node                 NODE_BIN stripped (symbols and debug info: not loaded, ~20 MB)
#   every library the loader maps for node, the loader itself included, under the paths ldd prints
#   /bin/busybox + sh, nsenter, sleep   the static busybox (busybox-static) at /bin/busybox here
#   /tmp                                1777
# Both image builds run it: scripts/build-image.sh (umoci, this machine's Node 24 and libraries)
# and the Dockerfile's `runtime` stage (the official Node image of the target platform), so the
# two images hold the same files. NODE_BIN itself is never modified.
# Needs: strip (binutils), ldd, file, busybox-static.
set -euo pipefail

die() {
  echo "image-runtime.sh: $*" >&2
  exit 1
}

(($# == 2)) || die "usage: scripts/image-runtime.sh ROOTFS NODE_BIN"
rootfs=$1
node_bin=$2
for tool in strip ldd file; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
file -bL "$node_bin" | grep -q '^ELF 64-bit LSB' || die "$node_bin is not an ELF executable"
busybox=/bin/busybox
[[ -f "$busybox" ]] && file -bL "$busybox" | grep -q 'statically linked' ||
  die "$busybox is not a static busybox (apt-get install busybox-static)"

# Every library the dynamic linker loads for node, the loader itself included, by the names ldd prints.
libs=()
while read -r line; do
  [[ "$line" == *"not found"* ]] && die "node links a library this machine lacks: $line"
  if [[ "$line" =~ =\>\ (/[^ ]+) ]] || [[ "$line" =~ ^(/[^ ]+) ]]; then libs+=("${BASH_REMATCH[1]}"); fi
done < <(ldd "$node_bin")
((${#libs[@]} > 0)) || die "ldd listed no libraries for $node_bin"

mkdir -p "$rootfs/usr/local/bin"
strip --strip-unneeded -o "$rootfs/usr/local/bin/node" "$node_bin"
chmod 0755 "$rootfs/usr/local/bin/node"
for lib in "${libs[@]}"; do
  # -L: a real file under the name the loader looks for, whatever symlinks lead to it here.
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  chmod 0755 "$rootfs$lib"
done
install -D -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh nsenter sleep; do
  ln -sfn busybox "$rootfs/bin/$applet"
done
install -d -m 1777 "$rootfs/tmp"
# The stripped node must still run (with the libraries just copied, under their loader).
loader=$(readelf -lW "$rootfs/usr/local/bin/node" | sed -n 's/.*program interpreter: \(.*\)]/\1/p')
[[ -n "$loader" && -x "$rootfs$loader" ]] || die "the loader $loader was not copied"
version=$("$rootfs$loader" --library-path "$(printf '%s\n' "${libs[@]}" | xargs -n1 dirname | sort -u |
  sed "s#^#$rootfs#" | paste -sd:)" "$rootfs/usr/local/bin/node" --version) ||
  die "the stripped node does not run"
[[ "$version" == "$("$node_bin" --version)" ]] || die "the stripped node says $version"
