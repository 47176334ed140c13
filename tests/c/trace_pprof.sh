#!/bin/sh
# Reads the profiles trace_report writes with `go tool pprof -top`, as a Go user would, and
# checks that each names the expected function first; then fetches one from the debug
# endpoint with pprof too. Usage: trace_pprof.sh <trace_report program>
set -eu
prog=$1
dir=$(mktemp -d /tmp/goro-pprof-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$prog" "$dir" >/dev/null

# top <file> <expected>: the first function row of `pprof -top` must be <expected>.
top() {
  out=$(go tool pprof -top "$1" 2>&1) || { echo "$out"; echo "pprof failed on $1"; exit 1; }
  first=$(echo "$out" | awk '/flat%/ {getline; print $NF; exit}')
  if [ "$first" != "$2" ]; then
    echo "$out"
    echo "FAIL: top of $(basename "$1") is '$first', expected '$2'"
    exit 1
  fi
  echo "ok: $(basename "$1") top is $2"
}

top "$dir/goroutine.pb.gz" receive_one
top "$dir/block.pb.gz" blocked_receiver
top "$dir/mutex.pb.gz" mutex_contender
top "$dir/cpu.pb.gz" cpu_burner
