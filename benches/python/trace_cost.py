"""What seeing inside (issue 6) costs Python goroutines: W2, W3 and W1 of w_goro.py for two
builds of goro, interleaved run by run (the order alternates), with medians; plus the second
build with Python wait frames recorded at every wait (GORO_TRACEBACK=1: what a block/mutex
profile or set_traceback(True) costs).

    python3 benches/python/trace_cost.py BEFORE_DIR AFTER_DIR [--runs 9]

BEFORE_DIR and AFTER_DIR each hold a `goro` package (python/goro with its _goro.abi3.so), as
PYTHONPATH entries: for instance a checkout before the change, built with
`cargo build --release -p goro-python` and the .so copied in as goro/_goro.abi3.so.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = [("W2", 1_000_000, "µs/round trip"), ("W3", 3_000_000, "M msg/s"),
             ("W1", 100_000, "µs/task")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    variants = {"before": (a.before, {}), "after (profiling off)": (a.after, {}),
                "after, wait frames on": (a.after, {"GORO_TRACEBACK": "1"})}
    res = {(w, v): [] for w, _, _ in WORKLOADS for v in variants}
    for r in range(a.runs):
        order = list(variants) if r % 2 == 0 else list(variants)[::-1]
        for w, n, _ in WORKLOADS:
            for v in order:
                path, extra = variants[v]
                env = dict(os.environ, PYTHONPATH=path, GOMAXPROCS="2", **extra)
                out = subprocess.run([sys.executable, "w_goro.py", w, str(n)], cwd=HERE,
                                     env=env, capture_output=True, text=True, timeout=600)
                lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
                if out.returncode != 0 or not lines or not json.loads(lines[-1]).get("ok"):
                    sys.exit(f"{v} {w}: failed\n{out.stdout}\n{out.stderr}")
                res[(w, v)].append(json.loads(lines[-1])["value"])
    names = list(variants)
    print(f"| workload | unit | {' | '.join(names)} | after/before (off) | after/before (frames) |")
    print("|---" * (len(names) + 4) + "|")
    for w, _, unit in WORKLOADS:
        med = [statistics.median(res[(w, v)]) for v in names]
        print(f"| {w} | {unit} | " + " | ".join(f"{m:.3g}" for m in med)
              + f" | {med[1] / med[0]:.3f} | {med[2] / med[0]:.3f} |")
    print()
    for w, _, _ in WORKLOADS:
        for v in names:
            print(f"- {w} {v}: " + ", ".join(f"{x:.3g}" for x in res[(w, v)]))


if __name__ == "__main__":
    main()
