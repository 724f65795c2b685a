#!/usr/bin/env bash
# Builds the provider (called by scripts/build.sh, so by `npm run build`):
#   dist/bin/nodecred-provider-linux-{amd64,arm64}(.sha256)  static QuickJS executables
#   dist/provider/nodecred-provider.mjs                       Node bundle (tests, bench)
#
# QuickJS comes from Debian's archive: the `quickjs` source package of the current stable release,
# fetched with `apt-get source` through a private apt configuration (own sources.list, lists and
# cache under the cache dir), so the system's apt setup is never read or changed. Debian's prebuilt
# quickjs binaries need a newer glibc than the build machine, hence the build from source.
# Heavy artefacts (QuickJS sources, libquickjs.a, qjsc) live in ${NODECRED_CACHE:-~/.cache/nodecred},
# keyed by the QuickJS version; nothing binary is written inside the repository except under dist/.
# Safe to run twice: everything cached is reused, the small final steps are simply redone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE=${NODECRED_CACHE:-$HOME/.cache/nodecred}
SUITE=${NODECRED_QUICKJS_SUITE:-trixie}
APT_DIR=$CACHE/apt-$SUITE
BUILD=$ROOT/dist/.provider-build
BIN_DIR=$ROOT/dist/bin
ARCHES=(amd64 arm64)

log() { printf 'build-provider: %s\n' "$*" >&2; }

# The host qjsc (built with the machine's gcc) compiles the bytecode for both targets.
if [[ $(dpkg --print-architecture) != amd64 ]]; then
  log "this build expects an amd64 build machine (found $(dpkg --print-architecture))"
  exit 1
fi

# --- host tools -----------------------------------------------------------------------------------
# Debian packages the build needs; installed only when missing (the machine is root, apt works).
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
ensure_packages dpkg-dev gcc libc6-dev xz-utils file gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
  binutils-aarch64-linux-gnu

# --- QuickJS source via a private apt configuration ------------------------------------------------
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/etc/sources.list"
  -o "Dir::Etc::SourceParts=$APT_DIR/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$APT_DIR/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$APT_DIR/etc/preferences.d"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::State::status=$APT_DIR/status"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "APT::Sandbox::User=root"
)

apt_private() { apt-get -qq "${APT_OPTS[@]}" "$@"; }

setup_private_apt() {
  mkdir -p "$APT_DIR"/{etc/sources.list.d,etc/preferences.d,lists/partial,cache/archives/partial,src}
  : >"$APT_DIR/status"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
    "$SUITE" >"$APT_DIR/etc/sources.list"
  # Refresh the private index at most once a day: the version found there keys the whole cache.
  # Offline with an older index, the cached build of that version is used.
  if [[ -z $(find "$APT_DIR/lists" -maxdepth 1 -name '*Sources*' -mtime -1 2>/dev/null) ]]; then
    log "updating private apt index ($SUITE deb-src)"
    if ! apt_private update; then
      if [[ -z $(find "$APT_DIR/lists" -maxdepth 1 -name '*Sources*' 2>/dev/null) ]]; then
        log "cannot fetch the $SUITE source index"
        exit 1
      fi
      log "index update failed; using the previous index"
    fi
  fi
}

quickjs_version() {
  apt-cache "${APT_OPTS[@]}" showsrc quickjs | awk '/^Version:/ { print $2; exit }'
}

fetch_quickjs() {
  local version=$1 dest=$2
  if [[ -f $dest/quickjs.c ]]; then return; fi
  log "fetching quickjs $version source ($SUITE)"
  local tmp
  tmp=$(mktemp -d "$APT_DIR/src/tmp.XXXXXX")
  (cd "$tmp" && apt_private source "quickjs=$version" >/dev/null)
  local dir
  dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'quickjs-*' | head -n1)
  [[ -n $dir && -f $dir/quickjs.c ]] || {
    log "apt-get source did not unpack quickjs"
    exit 1
  }
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$dir" "$dest"
  rm -rf "$tmp"
}

# libquickjs.a (+ qjsc for the build machine) for one architecture, with the compiler for it.
build_quickjs() {
  local src=$1 out=$2 cc=$3 ar=$4
  if [[ -f $out/libquickjs.a ]]; then return; fi
  log "compiling libquickjs for $(basename "$out")"
  local tmp=$out.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp/obj"
  local qver
  qver=$(cat "$src/VERSION")
  # -ffile-prefix-map keeps the cache location out of the binary (reproducible builds).
  local cflags=(-O2 -fwrapv -D_GNU_SOURCE "-DCONFIG_VERSION=\"$qver\"" -DHAVE_CLOSEFROM -w
    "-ffile-prefix-map=$src=quickjs")
  local f
  for f in quickjs dtoa libregexp libunicode cutils quickjs-libc; do
    "$cc" "${cflags[@]}" -c "$src/$f.c" -o "$tmp/obj/$f.o" &
  done
  wait
  "$ar" rcs "$tmp/libquickjs.a" "$tmp"/obj/*.o
  if [[ $cc == gcc ]]; then
    gcc "${cflags[@]}" -c "$src/qjsc.c" -o "$tmp/obj/qjsc.o"
    gcc -o "$tmp/qjsc" "$tmp/obj/qjsc.o" "$tmp/libquickjs.a" -lm -ldl -lpthread
  fi
  mkdir -p "$tmp/include"
  cp "$src"/quickjs.h "$src"/quickjs-libc.h "$tmp/include/"
  rm -rf "$tmp/obj" "$out"
  mv "$tmp" "$out"
}

cross_cc() {
  case $1 in
    amd64) echo gcc ;;
    arm64) echo aarch64-linux-gnu-gcc ;;
  esac
}
cross_prefix() {
  case $1 in
    amd64) echo "" ;;
    arm64) echo aarch64-linux-gnu- ;;
  esac
}

setup_private_apt
QJS_VERSION=$(quickjs_version)
[[ -n $QJS_VERSION ]] || {
  log "quickjs not found in the $SUITE deb-src index"
  exit 1
}
QJS_ROOT=$CACHE/quickjs/$QJS_VERSION
# Bump when the way libquickjs is compiled changes, so cached builds are not reused.
RECIPE=r2
fetch_quickjs "$QJS_VERSION" "$QJS_ROOT/src"
for arch in "${ARCHES[@]}"; do
  build_quickjs "$QJS_ROOT/src" "$QJS_ROOT/$arch-$RECIPE" "$(cross_cc "$arch")" "$(cross_prefix "$arch")ar"
done
QJSC=$QJS_ROOT/amd64-$RECIPE/qjsc

# --- bundles ---------------------------------------------------------------------------------------
rm -rf "$BUILD"
mkdir -p "$BUILD" "$BIN_DIR" "$ROOT/dist/provider"
ESBUILD=$ROOT/node_modules/.bin/esbuild
# QuickJS implements ES2023; `std`/`os` are QuickJS's built-in modules, resolved at run time.
"$ESBUILD" provider/main-quickjs.ts --bundle --format=esm --platform=neutral --target=es2022 \
  --external:std --external:os --legal-comments=none --log-level=warning \
  --outfile="$BUILD/provider-quickjs.js"
"$ESBUILD" provider/main-node.ts --bundle --format=esm --platform=node --target=node24 \
  --legal-comments=none --log-level=warning --outfile="$ROOT/dist/provider/nodecred-provider.mjs"

# --- static executables ----------------------------------------------------------------------------
# qjsc -e writes C holding the bytecode plus a main(); only the modules the bundle imports (std, os)
# are initialised, and unused intrinsics are left out to shorten start-up (Promise stays: module
# evaluation needs it). The bytecode is the same
# for both 64-bit little-endian targets, so the host qjsc serves the cross build too.
(cd "$BUILD" && "$QJSC" -e -m -s -N qjsc_provider \
  -fno-date -fno-eval -fno-string-normalize -fno-regexp -fno-proxy -fno-map -fno-typedarray \
  -fno-module-loader -fno-weakref \
  -o provider.c provider-quickjs.js)

for arch in "${ARCHES[@]}"; do
  out=$BIN_DIR/nodecred-provider-linux-$arch
  cc=$(cross_cc "$arch")
  lib=$QJS_ROOT/$arch-$RECIPE
  # glibc warns that dlopen in a static binary needs the shared libc at run time; the provider never
  # loads native modules, so that path is dead code.
  "$cc" -static -O2 -I"$lib/include" "$BUILD/provider.c" "$lib/libquickjs.a" -lm -lpthread -ldl \
    -o "$out.tmp" 2> >(grep -v -e 'dlopen' -e 'statically linked applications requires' -e 'in function' >&2)
  "$(cross_prefix "$arch")strip" --strip-all "$out.tmp"
  mv "$out.tmp" "$out"
  (cd "$BIN_DIR" && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")
  if ! file "$out" | grep -q 'statically linked'; then
    log "$out is not statically linked: $(file -b "$out")"
    exit 1
  fi
  log "$(basename "$out"): $(stat -c %s "$out") bytes, quickjs $QJS_VERSION"
done
