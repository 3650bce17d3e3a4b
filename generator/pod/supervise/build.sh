#!/usr/bin/env bash
# build.sh — builds the supervisor as a static binary (CGO_ENABLED=0, standard library only) and
# caches it under $DATOMSPOD_CACHE/supervise/<key>/supervise, where the key hashes the Go version,
# the target and every source file. Prints the binary's path. The build is reproducible
# (-trimpath, no build id, no VCS stamp): the same key gives the same bytes.
set -euo pipefail
export LC_ALL=C
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
CACHE=${DATOMSPOD_CACHE:-$HOME/.cache/datomspod}
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "build.sh: go not found (install Go, or put /usr/local/go/bin on PATH)" >&2; exit 1; }
export CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-$(go env GOARCH)} GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
cd "$HERE"
key=$(
  {
    go version
    printf 'GOOS=%s GOARCH=%s\n' "$GOOS" "$GOARCH"
    for f in $(ls go.mod *.go | grep -v '_test\.go$' | sort); do
      printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done
  } | sha256sum | cut -c1-16
)
out=$CACHE/supervise/$key/supervise
if [[ ! -x $out ]]; then
  mkdir -p -- "$(dirname -- "$out")"
  tmp=$out.tmp.$$
  go build -trimpath -ldflags='-s -w -buildid=' -o "$tmp" . >&2
  mv -- "$tmp" "$out"
fi
printf '%s\n' "$out"
