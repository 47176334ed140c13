#!/bin/sh
# Reads the goroutineleak profile trace_leak writes with `go tool pprof -top`, as a Go user
# reads Go 1.26's: it must count the 5 leaked goroutines and name their functions, and
# none of the goroutines that can still run. Usage: trace_leak_pprof.sh <trace_leak program>
set -eu
prog=$1
dir=$(mktemp -d /tmp/goro-leakprof-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$prog" "$dir" >/dev/null
out=$(go tool pprof -top "$dir/goroutineleak.pb.gz" 2>&1) || { echo "$out"; echo "FAIL: pprof"; exit 1; }
fail() { echo "$out"; echo "FAIL: $1"; exit 1; }
echo "$out" | grep -q "of 5 total" || fail "expected 5 leaked goroutines"
for f in owner_blocked cycle_member select_unreachable handed_down; do
  echo "$out" | grep -q " $f\$" || fail "no $f"
done
for f in kept_receiver chain_tail late_parent; do
  if echo "$out" | grep -q " $f\$"; then fail "$f listed"; fi
done
echo "ok: go tool pprof -top reads goroutineleak and names the leaked functions"
