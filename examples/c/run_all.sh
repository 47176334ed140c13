#!/usr/bin/env bash
# run_all.sh <prefix>: configure, build and run every goro C example against the goro
# installed in <prefix> (by `cmake --install`), one header line per example.
# Exits non-zero if the build fails or any example fails or hangs.
#
#   examples/c/run_all.sh build/prefix
#
# Environment: GORO_EXAMPLES_BUILD_DIR (default <repo>/build/examples-c),
#              GORO_EXAMPLE_TIMEOUT seconds per example (default 120).
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 <prefix where goro is installed>" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
build=${GORO_EXAMPLES_BUILD_DIR:-$here/../../build/examples-c}
limit=${GORO_EXAMPLE_TIMEOUT:-120}

# -Ugoro_DIR: forget a goro found in another prefix by an earlier run.
echo "### configure and build against $prefix"
cmake -S "$here" -B "$build" -Ugoro_DIR -DCMAKE_PREFIX_PATH="$prefix" || exit 1
cmake --build "$build" || exit 1

# Same order as GORO_EXAMPLES in CMakeLists.txt; pipeline_static when it was built.
examples="waitgroup fan_in errgroup worker_pool defer_file timeout first_response pipeline find_leak hello_100k echo_server http_server"
[ -x "$build/pipeline_static" ] && examples="$examples pipeline_static"

failed=""
for ex in $examples; do
    echo "=== $ex"
    start=$(date +%s%N)
    timeout "$limit" "$build/$ex"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -eq 0 ]; then
        echo "--- $ex: passed in ${ms} ms"
    elif [ $rc -eq 124 ]; then
        echo "--- $ex: FAILED: still running after ${limit} s, killed"
        failed="$failed $ex"
    else
        echo "--- $ex: FAILED with exit status $rc after ${ms} ms"
        failed="$failed $ex"
    fi
done

if [ -n "$failed" ]; then
    echo "### failed:$failed"
    exit 1
fi
echo "### all examples passed"
