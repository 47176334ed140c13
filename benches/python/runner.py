"""Runs the Python workloads, interleaved run by run, and prints medians (see ./run)."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Python sizes of BENCHMARKS.md. Thread-per-task W1 and W2 run a tenth (the metric is per
# task / per round trip; a full run takes minutes).
SIZES = {"W1": 100_000, "W2": 100_000, "W3": 1_000_000, "W4": 400_000, "W5": 400_000,
         "W6": 10_000, "W8": 100_000, "W11": 1_000, "W13": 50_000}
THREAD_SCALE = {"W1": 10, "W2": 10, "W13": 10}
UNITS = {"W1": "µs/task", "W2": "µs/round trip", "W3": "M msg/s", "W4": "M msg/s",
         "W5": "M msg/s", "W6": "KB/parked task", "W6s": "µs/spawn (W6)", "W8": "k jobs/s",
         "W11": "ns/round trip", "W11t": "peak OS threads (W11)", "W11m": "peak RSS MB (W11)",
         "W13": "ms", "W13t": "peak OS threads (W13)"}
LOWER_IS_BETTER = {"W1", "W2", "W6", "W6s", "W11", "W11t", "W11m", "W13", "W13t"}
# (column, program, env)
# goro twice: the workload's own side (W2's player, W3's consumer, W5's selector, W8's
# submitter, W13's waker) on the main thread, as a user's script runs it, and in a goroutine
# (goro.run), as Go's main runs. Earlier tables had only the second, which flattered goro.
SYSTEMS = [
    ("goro P=2", "w_goro.py", {"GOMAXPROCS": "2", "GORO_BENCH_SIDE": "main"}),
    ("goro P=2 in goroutines", "w_goro.py", {"GOMAXPROCS": "2", "GORO_BENCH_SIDE": "goroutine"}),
    ("goro P=1", "w_goro.py", {"GOMAXPROCS": "1", "GORO_BENCH_SIDE": "main"}),
    ("threading + queue", "w_threads.py", {"GOMAXPROCS": "2"}),
    ("asyncio", "w_asyncio.py", {}),
    ("gevent", "w_gevent.py", {}),
]
NOTES = {"W11": "1,000 loopback TCP connections (100 with --quick), each 20 echoes of 64 bytes, "
               "timed once all are connected; goro: goro.socket; gevent: gevent.socket; "
               "asyncio: streams; threads: blocking sockets, a thread per connection each side",
         "W13": "50,000 tasks (5,000 with --quick), each parked on its own channel or queue, "
                "woken one by one, joined",
         "W5": "threads and gevent: a forwarder per queue; asyncio: asyncio.wait",
         "W8": "goro.Pool(GOMAXPROCS, queue=1024) into a result Chan; threads: "
               "ThreadPoolExecutor(2) futures; asyncio/gevent: 2 worker tasks, one thread"}


def run_one(prog, w, n, env):
    e = dict(os.environ)
    e.update(env)
    r = subprocess.run([sys.executable, os.path.join(HERE, prog), w, str(n)], cwd=HERE,
                       capture_output=True, text=True, timeout=600, env=e)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{prog} {w} {n}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    res = json.loads(lines[-1])
    if not res.get("ok"):
        raise RuntimeError(f"{prog} {w}: {res}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="sizes / 10, one run")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--write", metavar="FILE", help="also write the table to FILE")
    ap.add_argument("--only", default="", help="comma-separated workloads (W1,W3,...)")
    a = ap.parse_args()
    runs = a.runs or (1 if a.quick else 5)
    ws = [w for w in SIZES if not a.only or w in a.only.split(",")]
    cells = {}  # (row, column) -> [values]
    failures = 0
    for r in range(runs):
        for w in ws:
            n = SIZES[w] // (10 if a.quick else 1)
            jobs = list(SYSTEMS)
            if w == "W6":
                jobs.append(("goro P=2 (no Python frame)", "w_goro.py",
                             {"GOMAXPROCS": "2", "_W": "W6bare"}))
            for col, prog, env in jobs:
                wname = env.get("_W", w)
                env = {k: v for k, v in env.items() if k != "_W"}
                m = n // THREAD_SCALE.get(w, 1) if prog == "w_threads.py" else n
                try:
                    res = run_one(prog, wname, m, env)
                except Exception as e:  # a failure fails the whole run, after the table
                    print(f"FAILED: {e}", file=sys.stderr)
                    failures += 1
                    continue
                cells.setdefault((w, col), []).append(res["value"])
                if "spawn_us" in res:
                    cells.setdefault(("W6s", col), []).append(res["spawn_us"])
                if "peak_threads" in res:
                    cells.setdefault((w + "t", col), []).append(res["peak_threads"])
                if "peak_rss_mb" in res:
                    cells.setdefault((w + "m", col), []).append(res["peak_rss_mb"])
                print(f"run {r + 1}/{runs} {w} {col}: {res['value']:.3f} {res['unit']}",
                      file=sys.stderr, flush=True)
    cols = [c for c, _, _ in SYSTEMS] + ["goro P=2 (no Python frame)"]
    goro_cols = ["goro P=2", "goro P=2 in goroutines", "goro P=1"]
    others = [c for c, _, _ in SYSTEMS if not c.startswith("goro")]
    rows = [w for w in ["W1", "W2", "W3", "W4", "W5", "W6", "W6s", "W8", "W11", "W11t", "W11m",
                        "W13", "W13t"]
            if any((w, c) in cells for c in cols)]
    head = ["workload", "unit"] + [c for c in cols if any((w, c) in cells for w in rows)]
    used = head[2:]
    out = []
    out.append(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
               f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of {runs} "
               f"interleaved run(s){' (--quick: sizes / 10)' if a.quick else ''}; "
               "ratio > 1 means goro is better than the best other system.")
    out.append("")
    out.append("| " + " | ".join(head + [g + " / best other" for g in goro_cols]) + " |")
    out.append("|" + "---|" * (len(head) + len(goro_cols)))
    for w in rows:
        med = {c: statistics.median(cells[(w, c)]) for c in used if (w, c) in cells}
        line = [w, UNITS[w]] + [f"{med[c]:.3g}" if c in med else "–" for c in used]
        best = [med[c] for c in others if c in med]
        for g in goro_cols:
            if g in med and best:
                b = min(best) if w in LOWER_IS_BETTER else max(best)
                ratio = b / med[g] if w in LOWER_IS_BETTER else med[g] / b
                line.append(f"{ratio:.2f}×")
            else:
                line.append("–")
        out.append("| " + " | ".join(line) + " |")
    out.append("")
    for w, note in NOTES.items():
        out.append(f"- {w}: {note}.")
    out.append(f"- W1/W2 for threads ran {SIZES['W1'] // 10:,} tasks / round trips, W13 "
               f"{SIZES['W13'] // 10:,} threads (thread per task); every program verifies its "
               "count or sum.")
    out.append("- goro P=2 / P=1: the workload's own side on the main thread, as a script runs "
               "it; 'in goroutines': that side in goro.run, as Go's main.")
    text = "\n".join(out)
    print(text)
    if a.write:
        with open(a.write, "w") as f:
            f.write(text + "\n")
    if failures:
        print(f"{failures} benchmark run(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
