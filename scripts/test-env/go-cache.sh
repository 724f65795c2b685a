# Sourced by build-kubernetes.sh and build-helm.sh: a Go build into the cache outside the repo
# (NODECRED_CACHE, default ~/.cache/nodecred), keyed by the version a go.mod pins, atomically: the
# build fills a new directory beside its place, which is renamed into it only once complete, so an
# interrupted build leaves nothing a later run would take for done.

cache="${NODECRED_CACHE:-$HOME/.cache/nodecred}"

# go_pinned TOOL MODULE_DIR MODULE MAJOR KIND: sets `version` to the version (vMAJOR.MINOR.PATCH)
# MODULE_DIR/go.mod requires of MODULE, and `out` to its place in the cache, KIND/VERSION; fails
# without a version.
go_pinned() {
  local tool=$1 mod=$2 module=$3 major=$4 kind=$5
  version="$(sed -n "s|^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}${module//./\\.}[[:space:]]\{1,\}\(v$major\.[0-9.]*\)\$|\2|p" "$mod/go.mod")"
  [[ "$version" =~ ^v$major\.[0-9]+\.[0-9]+$ ]] || { echo "$tool: no $module version in $mod/go.mod" >&2; exit 1; }
  out="$cache/$kind/$version"
}

# go_cached_build TOOL WHAT DURATION MODULE_DIR OUT COMPLETE BUILD: unless `COMPLETE OUT` says OUT
# holds the build, runs `BUILD DIR` in MODULE_DIR with the machine's own Go (no toolchain download,
# no cgo, go.sum checked) to fill a new DIR, and puts DIR at OUT. DURATION is for the note on stderr.
go_cached_build() {
  local tool=$1 what=$2 duration=$3 mod=$4 out=$5 complete=$6 build=$7 tmp
  "$complete" "$out" && return 0
  command -v go >/dev/null || { echo "$tool: Go is required to build $what" >&2; exit 1; }
  echo "$tool: building $what into $out (first run only; takes $duration)" >&2
  mkdir -p "$(dirname "$out")"
  tmp="$(mktemp -d "$(dirname "$out")/.build-$(basename "$out").XXXXXX")"
  # shellcheck disable=SC2064 # the directory of this build, expanded now
  trap "rm -rf -- $(printf %q "$tmp")" EXIT
  (
    cd "$mod"
    export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
    "$build" "$tmp"
  )
  "$complete" "$tmp" || { echo "$tool: the build of $what is incomplete in $tmp" >&2; exit 1; }
  rm -rf "$out"
  mv "$tmp" "$out"
  trap - EXIT
}
