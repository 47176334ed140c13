#!/usr/bin/env bash
# Runs every Node example; fails if one fails (exit code, or 60 s without finishing).
# Needs the addon built (npm install in bindings/node). Examples import 'goro', found through
# node_modules/goro, a link to bindings/node made here.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/node_modules"
ln -sfn ../../../bindings/node "$here/node_modules/goro"
fail=0
for f in "$here"/*.js "$here"/*.mjs; do
  name="$(basename "$f")"
  case "$name" in primes_job.mjs) continue ;; esac
  if out="$(cd "$here" && timeout 60 node "$name" 2>&1)"; then
    echo "ok   $name: $(echo "$out" | tail -1)"
  else
    echo "FAIL $name"
    echo "$out" | sed 's/^/     /'
    fail=1
  fi
done
exit $fail
