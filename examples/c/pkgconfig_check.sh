#!/usr/bin/env bash
# pkgconfig_check.sh <prefix>: build examples with a plain compiler and pkg-config against the
# goro installed in <prefix>, and run them.
#
#  1. shared:  cc waitgroup.c $(pkg-config --cflags --libs goro) -Wl,-rpath,<libdir>
#  2. static:  cc pipeline.c $(pkg-config --cflags goro) with `pkg-config --static --libs goro`,
#              whose -lgoro becomes -l:libgoro.a (plain -lgoro would pick libgoro.so) and whose
#              Libs.private adds the system libraries Rust's std needs.
#
# Environment: CC (default cc), GORO_PKGCONFIG_BUILD_DIR (default <repo>/build/pkgconfig-check).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 <prefix where goro is installed>" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
out=${GORO_PKGCONFIG_BUILD_DIR:-$here/../../build/pkgconfig-check}
cc=${CC:-cc}
mkdir -p "$out"

pc=$(find "$prefix" -path '*/pkgconfig/goro.pc' | head -n 1)
if [ -z "$pc" ]; then
    echo "no goro.pc under $prefix" >&2
    exit 1
fi
export PKG_CONFIG_PATH=$(dirname "$pc")
echo "### PKG_CONFIG_PATH=$PKG_CONFIG_PATH: goro $(pkg-config --modversion goro)"

run() { echo "+ $*"; "$@"; }

cflags=$(pkg-config --cflags goro)
libdir=$(cd "$(pkg-config --variable=libdir goro)" && pwd) # without the ../.. of ${pcfiledir}

echo "=== shared: waitgroup"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
run "$cc" -std=c11 -Wall -Wextra -o "$out/waitgroup" "$here/waitgroup.c" \
    $(pkg-config --cflags --libs goro) -Wl,-rpath,"$libdir"
if command -v readelf >/dev/null; then
    readelf -d "$out/waitgroup" | grep -q 'NEEDED.*\[libgoro\.so\.0\]' ||
        { echo "waitgroup does not record libgoro.so.0 as NEEDED" >&2; exit 1; }
fi
run timeout 60 "$out/waitgroup"

echo "=== static: pipeline"
static_libs=$(pkg-config --static --libs goro | sed -E 's/(^|[[:space:]])-lgoro([[:space:]]|$)/\1-l:libgoro.a\2/')
# shellcheck disable=SC2086
run "$cc" -std=c11 -Wall -Wextra -o "$out/pipeline_static" "$here/pipeline.c" $cflags $static_libs
if command -v readelf >/dev/null && readelf -d "$out/pipeline_static" | grep -q 'NEEDED.*libgoro'; then
    echo "pipeline_static still needs libgoro.so" >&2
    exit 1
fi
run timeout 60 "$out/pipeline_static"

echo "### pkg-config check passed (shared and static)"
