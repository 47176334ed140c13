#!/usr/bin/env bash
# run_all.sh: runs every Python example with $PYTHON (default python3, which must import
# goro), one header line per example, each through _leak_check.py (no goroutine may be left
# leaked at its end but find_leak's one). Exits non-zero if any example fails or hangs.
#
#   PYTHON=build/python-ci/venv/bin/python examples/python/run_all.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
limit=${GORO_EXAMPLE_TIMEOUT:-120}
failed=""
for ex in waitgroup fan_in errgroup first_response worker_pool defer_file timeout pipeline asyncio_bridge find_leak echo_server hello_100k; do
    echo "=== $ex"
    start=$(date +%s%N)
    allowed=0
    [ "$ex" = find_leak ] && allowed=1 # its point: one goroutine leaked on purpose
    GORO_EXAMPLE_LEAKS_ALLOWED=$allowed timeout "$limit" "$py" "$here/_leak_check.py" "$here/$ex.py"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -eq 0 ]; then
        echo "--- $ex: passed in ${ms} ms"
    else
        echo "--- $ex: FAILED (exit status $rc) after ${ms} ms"
        failed="$failed $ex"
    fi
done
if [ -n "$failed" ]; then
    echo "### failed:$failed"
    exit 1
fi
echo "### all examples passed"
