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

# The debug endpoint, as against a Go server: run it again, serving, and ask it.
GORO_DUMP_SIGNAL=SIGUSR1 TRACE_SERVE_SECONDS=60 "$prog" "$dir/live" >/dev/null 2>"$dir/live.stderr" &
pid=$!
for _ in $(seq 1 200); do [ -s "$dir/live/port" ] && break; sleep 0.05; done
port=$(cat "$dir/live/port")
url=http://127.0.0.1:$port/debug/pprof
go tool pprof -proto "$url/goroutine" > "$dir/live.pb.gz" 2>/dev/null
top "$dir/live.pb.gz" receive_one
# Go 1.26's goroutineleak profile, at its path: the one leaked goroutine of trace_report.
go tool pprof -proto "$url/goroutineleak" > "$dir/leak.pb.gz" 2>/dev/null
top "$dir/leak.pb.gz" leaky_receiver
leaktext=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$url/goroutineleak?debug=1")
echo "$leaktext" | grep -q "^leaky_receiver" || { echo "$leaktext"; echo "FAIL: goroutineleak?debug=1"; exit 1; }
echo "ok: $url/goroutineleak names leaky_receiver"
text=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$url/goroutine?debug=2")
echo "$text" | grep -q "^goroutine .*\[chan receive, " || { echo "$text"; echo "FAIL: debug=2 dump"; exit 1; }
echo "ok: $url/goroutine?debug=2 is a dump"
# GORO_DUMP_SIGNAL: a dump on stderr at each SIGUSR1, and the program goes on.
kill -USR1 $pid
for _ in $(seq 1 100); do grep -q "goroutine dump" "$dir/live.stderr" && break; sleep 0.05; done
grep -q "^goroutine .*\[chan receive, " "$dir/live.stderr" || { cat "$dir/live.stderr"; echo "FAIL: no dump on SIGUSR1"; exit 1; }
kill -0 $pid || { echo "FAIL: SIGUSR1 ended the program"; exit 1; }
echo "ok: SIGUSR1 printed a dump"
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
